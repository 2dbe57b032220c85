"""Times the jitted `mel_spectrogram` against librosa on CPU for a batch of real speech.

  python experiments/mel_speed.py [--batch 16] [--seconds 5] [--repeats 5]
synthesises one utterance with espeak-ng, tiles it to `seconds`, and prints one JSON object with
the median wall time of each over `repeats` runs (jax after a warm-up compile).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import wave

import jax
import librosa
import numpy as np

from regen_jax.abstractions import mel

SENTENCE = ("Speech synthesis turns text into a waveform; a vocoder turns mel spectrograms"
            " back into sound, one hop of samples per frame.")


def speech(sample_rate: int) -> np.ndarray:
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "speech.wav")
    subprocess.run(["espeak-ng", "-w", path, "-v", "en-us", SENTENCE], check=True)
    with wave.open(path) as f:
      assert f.getframerate() == sample_rate and f.getsampwidth() == 2
      return np.frombuffer(f.readframes(f.getnframes()), np.int16).astype(np.float32) / 32768


def librosa_log_mel(batch: np.ndarray, cfg: mel.MelConfig) -> np.ndarray:
  pad = (cfg.n_fft - cfg.hop_length) // 2
  spectrum = librosa.feature.melspectrogram(
      y=np.pad(batch, [(0, 0), (pad, pad)], mode="reflect"), sr=cfg.sample_rate, n_fft=cfg.n_fft,
      hop_length=cfg.hop_length, win_length=cfg.win_length, window="hann", center=False,
      power=1.0, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax, htk=False, norm="slaney")
  return np.log(np.maximum(spectrum, cfg.log_floor))


def median_ms(fn, repeats: int) -> float:
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return 1000 * float(np.median(times))


def main(batch_size: int, seconds: float, repeats: int):
  cfg = mel.MelConfig()
  length = int(seconds * cfg.sample_rate)
  utterance = speech(cfg.sample_rate)
  batch = np.stack([np.roll(np.resize(utterance, length), 997 * i) for i in range(batch_size)])
  device_batch = jax.device_put(batch)
  mel.mel_spectrogram(device_batch, cfg).block_until_ready()  # compile outside the timing
  jax_ms = median_ms(lambda: mel.mel_spectrogram(device_batch, cfg).block_until_ready(), repeats)
  librosa_ms = median_ms(lambda: librosa_log_mel(batch, cfg), repeats)
  print(json.dumps({
      "command": " ".join(["python"] + sys.argv),
      "device": str(jax.devices()[0]),
      "jax": jax.__version__,
      "librosa": librosa.__version__,
      "batch": batch_size,
      "seconds_of_audio": seconds,
      "jax_ms": round(jax_ms, 2),
      "librosa_ms": round(librosa_ms, 2),
      "speedup": round(librosa_ms / jax_ms, 2),
  }))


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batch", type=int, default=16)
  parser.add_argument("--seconds", type=float, default=5.0)
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args()
  main(args.batch, args.seconds, args.repeats)
