"""Metrics: PSNR, Fréchet distance between feature sets."""

import jax.numpy as jnp
import numpy as np


def psnr_per_image(reconstruction, target, max_value: float = 1.0):
  """PSNR in dB of each image of a batch (values clipped to [0, max_value])."""
  err = jnp.mean((jnp.clip(reconstruction, 0, max_value) - target) ** 2, axis=(1, 2, 3))
  return 10.0 * jnp.log10(max_value**2 / jnp.maximum(err, 1e-10))


def _sqrtm_psd(matrix):
  values, vectors = np.linalg.eigh(matrix)
  return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(features_a, features_b) -> float:
  """Fréchet distance between Gaussians fitted to two (N, D) feature sets (as in FID)."""
  a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
  mean_a, mean_b = a.mean(0), b.mean(0)
  cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  root_a = _sqrtm_psd(cov_a)
  cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
  return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)
