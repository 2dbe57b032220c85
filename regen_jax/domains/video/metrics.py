"""Scores of generated clips that need no network: where the items are (the intensity centroid
of each frame, against the real clip with the same X), and frame prediction's PSNR and SSIM."""

import numpy as np
from scipy import ndimage

from regen_jax.evaluate.metrics import psnr_per_image

_SSIM_SIGMA, _SSIM_C1, _SSIM_C2 = 1.5, 0.01 ** 2, 0.03 ** 2  # Wang et al. 2004, for [0, 1]
_SSIM_TRUNCATE = 3.5  # the 11x11 window's radius, in sigmas
_SSIM_BORDER = int(_SSIM_TRUNCATE * _SSIM_SIGMA + 0.5)  # where the window leaves the image


def centroids(clips) -> np.ndarray:
  """(N, T, H, W, 1) in [0, 1] -> the intensity centroid (row, col) of each frame, (N, T, 2);
  a black frame's is its centre."""
  clips = np.asarray(clips, np.float64)[..., 0]
  mass = clips.sum(axis=(2, 3))
  rows, cols = np.arange(clips.shape[2]), np.arange(clips.shape[3])
  row = np.einsum("nthw,h->nt", clips, rows) / np.maximum(mass, 1e-8)
  col = np.einsum("nthw,w->nt", clips, cols) / np.maximum(mass, 1e-8)
  centre = ((clips.shape[2] - 1) / 2, (clips.shape[3] - 1) / 2)
  return np.stack([np.where(mass > 0, row, centre[0]), np.where(mass > 0, col, centre[1])], -1)


def trajectory_error(generated, real) -> float:
  """Mean distance in pixels between the centroids of generated and real clips, frame by frame."""
  return float(np.linalg.norm(centroids(generated) - centroids(real), axis=-1).mean())


def ssim(a, b) -> np.ndarray:
  """Mean SSIM of each pair of (N, H, W, 1) images in [0, 1] (Gaussian window, σ 1.5), over the
  pixels whose window lies inside the image."""
  a, b = np.asarray(a, np.float64)[..., 0], np.asarray(b, np.float64)[..., 0]
  blur = lambda x: ndimage.gaussian_filter(x, sigma=(0, _SSIM_SIGMA, _SSIM_SIGMA),
                                           truncate=_SSIM_TRUNCATE)
  mean_a, mean_b = blur(a), blur(b)
  var_a, var_b = blur(a * a) - mean_a ** 2, blur(b * b) - mean_b ** 2
  covariance = blur(a * b) - mean_a * mean_b
  index = ((2 * mean_a * mean_b + _SSIM_C1) * (2 * covariance + _SSIM_C2)
           / ((mean_a ** 2 + mean_b ** 2 + _SSIM_C1) * (var_a + var_b + _SSIM_C2)))
  inside = slice(_SSIM_BORDER, -_SSIM_BORDER)
  return index[:, inside, inside].mean(axis=(1, 2))


def frame_scores(predicted, real) -> dict:
  """PSNR (dB) and SSIM of predicted frames (N, T, H, W, 1) against the real ones, averaged over
  every frame."""
  flat = lambda x: np.asarray(x, np.float32).reshape(-1, *np.shape(x)[2:])
  return {"psnr": float(np.mean(psnr_per_image(flat(predicted), flat(real)))),
          "ssim": float(np.mean(ssim(flat(predicted), flat(real))))}
