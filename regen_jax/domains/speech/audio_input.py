"""A user's speech recording (`sample --audio FILE.wav`) read into model-ready float samples.

Behaviour, each failure a UserError naming the file:
  integer PCM WAV of 8 (unsigned), 16, 24 or 32 bits is read; other encodings (float, mu-law,
  and WAVE_FORMAT_EXTENSIBLE headers, which Python 3.11's `wave` rejects) are errors that say how
  to convert; a missing file, a non-WAV file or a truncated header are errors too;
  several channels are averaged to mono; data cut short of the header's length reads what is there;
  no samples, or a 0-byte file -> "empty"; a peak below SILENCE_PEAK -> "silent";
  another sample rate is resampled (polyphase, gcd-reduced ratio) with a printed note;
  longer than `max_seconds` -> an error naming the limit;
  clipped audio is returned unchanged: callers check `clipped_fraction` against CLIPPED_WARNING
  and warn, since a clipped recording is still recognisable.
"""

import math
import os
import wave

import numpy as np
import scipy.signal

from regen_jax.errors import UserError

SILENCE_PEAK = 1e-4
CLIP_LEVEL = 0.99  # |x| at or above this is full scale: 8-bit PCM peaks at 127/128 = 0.992
CLIPPED_WARNING = 0.01  # a caller warns when at least this fraction of samples is clipped
_CONVERT_HINT = "convert it to 16-bit PCM, e.g. `ffmpeg -i IN -c:a pcm_s16le -f wav OUT.wav`"


def _decode(frames: bytes, width: int, channels: int) -> np.ndarray:
  """Little-endian PCM bytes -> (n, channels) float64 in [-1, 1)."""
  if width == 1:  # 8-bit WAV is unsigned, centred on 128
    values = np.frombuffer(frames, np.uint8).astype(np.float64) - 128
  elif width == 3:  # no int24 dtype: place each 3-byte sample in the top of an int32
    padded = np.zeros((len(frames) // 3, 4), np.uint8)
    padded[:, 1:] = np.frombuffer(frames, np.uint8).reshape(-1, 3)
    values = padded.view("<i4")[:, 0].astype(np.float64) / 256
  else:
    values = np.frombuffer(frames, {2: "<i2", 4: "<i4"}[width]).astype(np.float64)
  return values.reshape(-1, channels) / 2.0 ** (8 * width - 1)


def _read_wav(path: str, max_seconds: float | None) -> tuple[np.ndarray, int]:
  """(n, channels) samples and the file's sample rate, reading no more than the limit allows."""
  try:
    with wave.open(path, "rb") as f:
      width, channels, rate = f.getsampwidth(), f.getnchannels(), f.getframerate()
      if width not in (1, 2, 3, 4):
        raise wave.Error(f"{8 * width}-bit samples")
      if rate <= 0:
        raise wave.Error(f"sample rate {rate} Hz")
      wanted = f.getnframes() if max_seconds is None else math.floor(max_seconds * rate) + 1
      frames = f.readframes(wanted)
  except (wave.Error, EOFError) as e:
    reason = str(e) or "truncated header"  # wave's EOFError says nothing
    raise UserError(f"{path} is not a PCM WAV file: {reason}; {_CONVERT_HINT}")
  except OSError as e:
    raise UserError(f"cannot read {path}: {e.strerror}")
  frames = frames[:len(frames) - len(frames) % (width * channels)]  # drop a cut-off last frame
  samples = _decode(frames, width, channels)
  if max_seconds is not None and len(samples) > max_seconds * rate:
    raise UserError(f"{path} is longer than the {max_seconds:g} s limit (max_seconds)")
  return samples, rate


def resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
  """`samples` (last axis time) from `rate` to `target_rate` Hz: polyphase, anti-aliased, at the
  gcd-reduced ratio; unclipped, the input itself when the rates match."""
  if rate == target_rate:
    return samples
  gcd = math.gcd(rate, target_rate)
  return scipy.signal.resample_poly(samples, target_rate // gcd, rate // gcd, axis=-1)


def load_audio(path: str, sample_rate: int, max_seconds: float | None = None) -> np.ndarray:
  """Mono float32 samples in [-1, 1] at `sample_rate` from a PCM WAV file (see module doc)."""
  if not os.path.exists(path):
    raise UserError(f"audio file {path} does not exist")
  # A 0-byte file is empty rather than a broken header.
  samples, rate = (_read_wav(path, max_seconds) if os.path.getsize(path)
                   else (np.zeros((0, 1)), sample_rate))
  if samples.size == 0:
    raise UserError(f"{path} is empty: it holds no audio samples")
  mono = samples.mean(axis=1)
  if np.abs(mono).max() < SILENCE_PEAK:
    raise UserError(f"{path} is silent: its peak is below {SILENCE_PEAK:g} of full scale")
  if rate != sample_rate:
    print(f"resampling {path} from {rate} Hz to {sample_rate} Hz", flush=True)
    mono = np.clip(resample(mono, rate, sample_rate), -1, 1)
  return mono.astype(np.float32)


def clipped_fraction(samples: np.ndarray) -> float:
  """Fraction of samples at full scale (|x| >= CLIP_LEVEL): warn when >= CLIPPED_WARNING.

  Works on `load_audio`'s output, resampled or not: a clipped plateau stays at full scale.
  """
  samples = np.asarray(samples)
  return float((np.abs(samples) >= CLIP_LEVEL).mean()) if samples.size else 0.0
