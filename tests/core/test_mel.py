import subprocess
import wave

import jax
import librosa
import numpy as np
import pytest

from regen_jax.abstractions import mel
from regen_jax.errors import UserError

SMALL = mel.MelConfig(sample_rate=16000, n_fft=512, hop_length=128, win_length=400, n_mels=40,
                      fmin=20.0, fmax=8000.0)


def read_wav(path) -> np.ndarray:
  with wave.open(str(path)) as f:
    assert (f.getframerate(), f.getnchannels(), f.getsampwidth()) == (22050, 1, 2)
    return np.frombuffer(f.readframes(f.getnframes()), np.int16).astype(np.float32) / 32768


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> np.ndarray:
  """About 2.5 s of real (synthetic) speech at 22.05 kHz."""
  path = tmp_path_factory.mktemp("speech") / "speech.wav"
  subprocess.run(["espeak-ng", "-w", str(path), "-v", "en-us",
                  "The quick brown fox jumps over the lazy dog."], check=True)
  return read_wav(path)


def librosa_log_mel(y: np.ndarray, cfg: mel.MelConfig) -> np.ndarray:
  pad = (cfg.n_fft - cfg.hop_length) // 2
  spectrum = librosa.feature.melspectrogram(
      y=np.pad(y, pad, mode="reflect"), sr=cfg.sample_rate, n_fft=cfg.n_fft,
      hop_length=cfg.hop_length, win_length=cfg.win_length, window="hann", center=False,
      power=1.0, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax, htk=False, norm="slaney")
  return np.log(np.maximum(spectrum, cfg.log_floor)).T


@pytest.mark.parametrize("cfg", [mel.MelConfig(), SMALL], ids=["default", "small"])
def test_filterbank_matches_librosa(cfg):
  expected = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels,
                                 fmin=cfg.fmin, fmax=cfg.fmax, htk=False, norm="slaney").T
  got = mel.mel_filterbank(cfg)
  assert got.shape == (cfg.n_fft // 2 + 1, cfg.n_mels) and got.dtype == np.float32
  np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("cfg", [mel.MelConfig(), SMALL], ids=["default", "small"])
def test_log_mel_matches_librosa_on_speech(speech, cfg):
  expected = librosa_log_mel(speech, cfg)
  got = np.asarray(mel.mel_spectrogram(speech, cfg))
  assert got.shape == expected.shape == (mel.num_frames(len(speech), cfg), cfg.n_mels)
  assert np.abs(got - expected).max() <= 1e-3
  assert (expected > np.log(cfg.log_floor)).mean() > 0.5  # the comparison is not all floor


def test_batched_shapes_and_frame_count(speech):
  cfg = mel.MelConfig()
  length = 10 * cfg.hop_length + 37  # not a multiple of hop_length: the tail is dropped
  batch = np.stack([speech[i * 1000:i * 1000 + length] for i in range(6)]).reshape(2, 3, length)
  log_mel = mel.mel_spectrogram(batch, cfg)
  assert log_mel.shape == (2, 3, mel.num_frames(length, cfg), cfg.n_mels) == (2, 3, 10, 80)
  assert log_mel.dtype == np.float32
  np.testing.assert_allclose(log_mel[1, 2], mel.mel_spectrogram(batch[1, 2], cfg), atol=1e-5)
  assert mel.magnitude_spectrogram(batch, cfg).shape == (2, 3, 10, cfg.n_fft // 2 + 1)
  with pytest.raises(UserError, match="shorter than one hop"):
    mel.mel_spectrogram(batch[..., :cfg.hop_length - 1], cfg)


def test_config_round_trip_and_errors():
  cfg = mel.MelConfig.from_config(mel.default_config_dict())
  assert cfg == mel.MelConfig() and mel.MelConfig.from_config(SMALL.as_dict()) == SMALL
  with pytest.raises(UserError, match="unknown mel setting.*n_mel\\b"):
    mel.MelConfig.from_config({**cfg.as_dict(), "n_mel": 80})
  with pytest.raises(UserError, match="missing mel setting.*log_floor"):
    mel.MelConfig.from_config({k: v for k, v in cfg.as_dict().items() if k != "log_floor"})
  with pytest.raises(UserError, match="fmax 12000.0 exceeds the Nyquist"):
    mel.MelConfig(fmax=12000.0)
  with pytest.raises(UserError, match="win_length 2048 exceeds n_fft 1024"):
    mel.MelConfig(win_length=2048)
  with pytest.raises(UserError, match="n_mels must be a positive integer"):
    mel.MelConfig(n_mels=0)


def test_check_same_lists_each_difference():
  mel.check_same(mel.MelConfig(), mel.MelConfig(), "vocoder")
  with pytest.raises(UserError) as error:
    mel.check_same(mel.MelConfig(n_mels=64, fmax=7600.0), mel.MelConfig(), "vocoder")
  message = str(error.value)
  assert message.startswith("vocoder")
  assert "n_mels: 64 vs 80" in message and "fmax: 7600.0 vs 8000.0" in message
  assert "hop_length" not in message


def test_griffin_lim_resynthesises_speech(speech):
  cfg = mel.MelConfig()
  clip = speech[:86 * cfg.hop_length]
  target = mel.mel_spectrogram(clip, cfg)

  def distance(waveform):
    return float(np.abs(mel.mel_spectrogram(waveform, cfg) - target).mean())

  resynthesised = mel.griffin_lim(target, cfg, num_iterations=32, rng=jax.random.key(1),
                                  match="magnitude")
  random_phase = mel.griffin_lim(target, cfg, num_iterations=0, rng=jax.random.key(1))
  noise = np.random.default_rng(0).standard_normal(clip.shape).astype(np.float32) * clip.std()
  assert resynthesised.shape == clip.shape == (target.shape[0] * cfg.hop_length,)
  assert distance(resynthesised) < 0.8 * distance(random_phase) < distance(noise)
  # Restoring only the mel (not the pseudo-inverse's flat magnitudes) lets consistency rebuild
  # the harmonics within each band: 0.094 vs 0.162 on the test split, 0.19 vs 0.26 on this clip.
  mel_matched = mel.griffin_lim(target, cfg, num_iterations=32, rng=jax.random.key(1))
  assert distance(mel_matched) < 0.8 * distance(resynthesised)
  batched = mel.griffin_lim(np.stack([target, target]), cfg, num_iterations=2)
  assert batched.shape == (2, clip.shape[0])
  with pytest.raises(UserError, match="match must be one of"):
    mel.griffin_lim(target, cfg, match="phase")


@pytest.mark.parametrize("cfg", [mel.MelConfig(), SMALL], ids=["default", "small"])
def test_inverse_stft_reconstructs_exactly(cfg):
  # Griffin-Lim's projection relies on inverse_stft being the exact inverse of the forward framing.
  waveform = np.random.default_rng(0).uniform(-1, 1, (2, 20 * cfg.hop_length)).astype(np.float32)
  np.testing.assert_allclose(mel.inverse_stft(mel.stft(waveform, cfg), cfg), waveform, atol=1e-5)


def test_mel_gradient_is_finite_on_silence():
  # A generator's output can have silent bins; sqrt's NaN gradient at 0 must not reach the loss.
  cfg = mel.MelConfig()
  waveform = np.zeros((1, 8 * cfg.hop_length), np.float32)
  waveform[0, 1000:1100] = 0.1
  grads = jax.grad(lambda w: mel.mel_spectrogram(w, cfg).sum())(waveform)
  assert np.isfinite(grads).all() and np.abs(grads[0, 1000:1100]).max() > 0
