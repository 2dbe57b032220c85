"""Speech outputs and their scores: WAV and mel PNG files, mel L1 and mel-cepstral distortion
(MCD) on the DTW path.

MCD follows the standard definition (Kubichek 1993): cepstra c_m of the natural-log amplitude
spectrum in SPTK's convention, log|H(w)| = sum_m c_m cos(m w), here over the mel bands (c_m is the
DCT-II of the log-mel divided by n_mels), c0 excluded, and per frame
10 / ln 10 * sqrt(2 * sum_m (c_m - c'_m)^2) dB, averaged over the DTW path. An orthonormal DCT
instead scales every c_m by sqrt(n_mels / 2), 6.3 at 80 bands: that was the 57-62 dB this
project once reported.
"""

import os
import wave

import numpy as np
import scipy.fft
from PIL import Image

from regen_jax.evaluate import dtw

MCD_COEFFICIENTS = 13  # c1..c13, c0 (energy) excluded as usual


def write_wav(path: str, samples: np.ndarray, sample_rate: int):
  """Float samples in [-1, 1] -> 16-bit mono WAV."""
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  pcm = np.round(np.clip(np.asarray(samples, np.float32), -1, 1) * 32767).astype("<i2")
  with wave.open(path, "wb") as f:
    f.setnchannels(1)
    f.setsampwidth(2)
    f.setframerate(sample_rate)
    f.writeframes(pcm.tobytes())


def save_mel_png(path: str, log_mel: np.ndarray, floor: float):
  """(frames, n_mels) log-mel as an image: time left to right, low frequencies at the bottom."""
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  log_mel = np.asarray(log_mel, np.float32)
  top = max(float(log_mel.max()), np.log(floor) + 1e-3)
  scaled = (np.clip(log_mel, np.log(floor), top) - np.log(floor)) / (top - np.log(floor))
  pixels = (255 * (1 - scaled.T[::-1])).astype(np.uint8)
  Image.fromarray(pixels).resize((pixels.shape[1] * 2, pixels.shape[0] * 3),
                                 Image.NEAREST).save(path)


def mel_cepstrum(log_mel: np.ndarray) -> np.ndarray:
  """c1..c13 of log-mel frames (..., n_mels): the cosine-series coefficients of the log
  spectrum over the mel bands' centres, as SPTK's cepstra are."""
  log_mel = np.asarray(log_mel, np.float64)
  return scipy.fft.dct(log_mel, type=2, axis=-1)[..., 1:MCD_COEFFICIENTS + 1] / log_mel.shape[-1]


def compare_mels(generated: np.ndarray, reference: np.ndarray) -> dict[str, float]:
  """Mel L1 and MCD (dB) of one utterance pair, both on the DTW path of their cepstra (always:
  equal lengths do not mean aligned frames)."""
  generated, reference = np.asarray(generated, np.float64), np.asarray(reference, np.float64)
  gen_cep, ref_cep = mel_cepstrum(generated), mel_cepstrum(reference)
  cost = np.sqrt(((gen_cep[:, None] - ref_cep[None]) ** 2).sum(-1))
  rows, cols = dtw.dtw_path(cost)
  difference = gen_cep[rows] - ref_cep[cols]
  mcd = 10 / np.log(10) * np.sqrt(2 * (difference ** 2).sum(-1))
  return {"mel_l1": float(np.abs(generated[rows] - reference[cols]).mean()),
          "mcd": float(mcd.mean())}
