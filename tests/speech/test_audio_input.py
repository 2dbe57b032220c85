import wave

import numpy as np
import pytest

from regen_jax.domains.speech import audio_input
from regen_jax.errors import UserError

RATE = 22050


def _write(path, pcm: np.ndarray, width: int, rate: int = RATE) -> str:
  """Integer PCM (frames, channels) -> WAV; 24-bit as the low 3 bytes of each int32."""
  data = pcm.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3] if width == 3 else pcm
  with wave.open(str(path), "wb") as f:
    f.setnchannels(pcm.shape[1])
    f.setsampwidth(width)
    f.setframerate(rate)
    f.writeframes(np.ascontiguousarray(data).tobytes())
  return str(path)


def _tone(seconds: float, rate: int, hz: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
  return amplitude * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)


def test_16_bit_mono_round_trips(tmp_path):
  pcm = np.round(_tone(0.2, RATE) * 32767).astype("<i2")
  samples = audio_input.load_audio(_write(tmp_path / "a.wav", pcm[:, None], 2), RATE)
  assert samples.dtype == np.float32 and samples.shape == pcm.shape
  np.testing.assert_allclose(samples, pcm / 32768, atol=1e-7)


def test_stereo_is_averaged(tmp_path):
  left = np.full(100, 8192, "<i2")
  samples = audio_input.load_audio(
      _write(tmp_path / "s.wav", np.stack([left, -left // 2], 1), 2), RATE)
  np.testing.assert_allclose(samples, 0.125 / 2)


@pytest.mark.parametrize("width, pcm, expected", [
    (1, np.array([0, 64, 128, 192, 255], np.uint8), [-1, -0.5, 0, 0.5, 127 / 128]),
    (3, np.array([-2 ** 23, -2 ** 22, 0, 2 ** 22, 2 ** 23 - 1]), [-1, -0.5, 0, 0.5, 1 - 2 ** -23]),
    (4, np.array([-2 ** 31, -2 ** 30, 0, 2 ** 30, 2 ** 31 - 1], "<i4"),
     [-1, -0.5, 0, 0.5, 1 - 2 ** -31])])
def test_8_24_and_32_bit_scale_to_unit_range(tmp_path, width, pcm, expected):
  samples = audio_input.load_audio(_write(tmp_path / "w.wav", pcm[:, None], width), RATE)
  np.testing.assert_allclose(samples, np.array(expected, np.float32), atol=1e-7)


def test_other_rates_are_resampled_keeping_pitch(tmp_path, capsys):
  pcm = np.round(_tone(1.0, 16000) * 32767).astype("<i2")[:, None]
  samples = audio_input.load_audio(_write(tmp_path / "r.wav", pcm, 2, rate=16000), RATE)
  assert len(samples) == RATE and "from 16000 Hz to 22050 Hz" in capsys.readouterr().out
  spectrum = np.abs(np.fft.rfft(samples))
  assert np.fft.rfftfreq(len(samples), 1 / RATE)[spectrum.argmax()] == pytest.approx(440, abs=1)
  assert np.abs(samples).max() == pytest.approx(0.5, abs=0.01)


def test_clipping_is_kept_and_measured(tmp_path):
  pcm = np.round(np.clip(_tone(0.2, RATE, amplitude=2.0), -1, 1) * 32767).astype("<i2")
  path = _write(tmp_path / "c.wav", pcm[:, None], 2)
  samples = audio_input.load_audio(path, RATE)
  np.testing.assert_allclose(samples, pcm / 32768, atol=1e-7)  # unchanged
  assert audio_input.clipped_fraction(samples) >= audio_input.CLIPPED_WARNING
  assert audio_input.clipped_fraction(_tone(0.2, RATE)) == 0.0
  resampled = audio_input.load_audio(_write(tmp_path / "c16.wav", pcm[:, None], 2, 16000), RATE)
  assert audio_input.clipped_fraction(resampled) >= audio_input.CLIPPED_WARNING
  assert np.abs(resampled).max() <= 1.0


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"), (b"\x00garbage bytes, not audio" * 10, "is not a PCM WAV file"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "is not a PCM WAV file: fmt chunk"),  # headers cut short
    (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00", "file: truncated header")])
def test_unreadable_files_are_user_errors(tmp_path, content, message):
  path = tmp_path / "bad.wav"
  path.write_bytes(content)
  with pytest.raises(UserError, match=message):
    audio_input.load_audio(str(path), RATE)


@pytest.mark.parametrize("offset, size, value, message", [
    (20, 2, 3, "not a PCM WAV file: unknown format: 3; convert .*pcm_s16le"),  # IEEE float
    (24, 4, 0, "not a PCM WAV file: sample rate 0 Hz")])
def test_unsupported_headers_name_the_problem(tmp_path, offset, size, value, message):
  path = _write(tmp_path / "f.wav", np.ones((10, 1), "<i2"), 2)
  data = bytearray(open(path, "rb").read())
  data[offset:offset + size] = value.to_bytes(size, "little")
  open(path, "wb").write(bytes(data))
  with pytest.raises(UserError, match=message):
    audio_input.load_audio(path, RATE)


def test_empty_silent_missing_and_too_long_are_user_errors(tmp_path):
  with pytest.raises(UserError, match="is empty"):
    audio_input.load_audio(_write(tmp_path / "e.wav", np.zeros((0, 1), "<i2"), 2), RATE)
  with pytest.raises(UserError, match="is silent"):
    audio_input.load_audio(_write(tmp_path / "z.wav", np.zeros((500, 2), "<i2"), 2), RATE)
  with pytest.raises(UserError, match="does not exist"):
    audio_input.load_audio(str(tmp_path / "missing.wav"), RATE)
  with pytest.raises(UserError, match="cannot read"):
    audio_input.load_audio(str(tmp_path), RATE)
  pcm = np.round(_tone(2.0, RATE) * 32767).astype("<i2")[:, None]
  path = _write(tmp_path / "long.wav", pcm, 2)
  with pytest.raises(UserError, match="longer than the 1.5 s limit"):
    audio_input.load_audio(path, RATE, max_seconds=1.5)
  assert len(audio_input.load_audio(path, RATE, max_seconds=2.0)) == 2 * RATE


def test_truncated_data_reads_what_is_there(tmp_path):
  pcm = np.round(_tone(0.1, RATE) * 32767).astype("<i2")[:, None]
  path = _write(tmp_path / "t.wav", pcm, 2)
  data = open(path, "rb").read()
  open(path, "wb").write(data[:-101])  # half a frame at the end too
  assert len(audio_input.load_audio(path, RATE)) == len(pcm) - 51
