"""What every speech stage trained on recordings shares: the corpus as padded arrays.

Each utterance becomes fixed-size rows (static shapes for jit): int16 `audio` trimmed to whole
mel frames and zero-padded to `max_frames * hop_length` samples, `num_frames`, phoneme ids of its
text from the front end (`abstractions/phonemes.py`) padded to `max_phonemes`, `num_phonemes`,
and `voice`. Utterances longer than either limit, or whose text has a character the front end has
no rule for, are left out (the count is printed). Mel frames are computed inside the jitted
step from the audio, by the one rule in `abstractions/mel.py`.
"""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np

from regen_jax.abstractions import mel as mel_lib
from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.data import pipeline
from regen_jax.domains.speech import audio as audio_io
from regen_jax.domains.speech import corpus  # noqa: F401  (registers the TFDS builder)
from regen_jax.domains.speech import intelligibility
from regen_jax.errors import UserError
from regen_jax.priors.frames import frame_mask
from regen_jax.stages.base import SampleFlag

TEXT = SampleFlag("text", str, "the sentence to speak (synthesis) or spell (phoneme-to-grapheme)")
VOICE = SampleFlag("voice", int, "the voice index to speak with (default 0)")
AUDIO = SampleFlag("audio", str, "a WAV file to transcribe (speech recognition)")
PACE = SampleFlag("pace", float, "speaking rate: 1.25 speaks 25 % faster, 0.8 slower (every "
                  "predicted duration divided by it; default 1)")
_PACES = (0.25, 4.0)
_AUDIO_KEYS = ("audio", "speech")  # ours and e.g. TFDS ljspeech


def check_pace(pace: float) -> float:
  if not _PACES[0] <= pace <= _PACES[1]:
    raise UserError(f"--pace {pace}: give a speaking rate in [{_PACES[0]}, {_PACES[1]}] "
                    f"(1 is the model's own)")
  return float(pace)


def phoneme_ids(text: str) -> np.ndarray:
  """The front end's phonemes of `text` after a word boundary that stands for the silence before
  the first word (the final pause symbol covers the silence after the last)."""
  return np.concatenate([[phoneme_lib.symbol_to_id[phoneme_lib.BOUNDARY]],
                         phoneme_lib.encode(text)]).astype(np.int32)


def speech_arrays(records, config, mel_config) -> tuple[dict[str, np.ndarray], list[str]]:
  """Padded arrays of the records that fit the limits, and their texts."""
  hop, max_frames = mel_config.hop_length, config.max_frames
  keep, texts = [], []
  for record in records:
    audio = np.asarray(next(record[k] for k in _AUDIO_KEYS if k in record))
    text = record["text"].decode() if isinstance(record["text"], bytes) else str(record["text"])
    try:
      ids = phoneme_ids(text)
    except UserError:  # a character the front end has no rule for: leave the utterance out
      continue
    frames = len(audio) // hop
    if frames <= max_frames and len(ids) <= config.max_phonemes and len(ids) <= frames:
      keep.append((audio[:frames * hop], ids, int(record.get("voice", 0))))
      texts.append(text)
  if not keep:
    raise UserError(f"no utterance of {config.dataset!r} fits max_frames={max_frames} and "
                    f"max_phonemes={config.max_phonemes}")
  arrays = {"audio": np.zeros((len(keep), max_frames * hop), np.int16),
            "num_frames": np.array([len(a) // hop for a, _, _ in keep], np.int32),
            "phonemes": np.zeros((len(keep), config.max_phonemes), np.int32),
            "num_phonemes": np.array([len(p) for _, p, _ in keep], np.int32),
            "voice": np.array([v for _, _, v in keep], np.int32)}
  for i, (audio, ids, _) in enumerate(keep):
    arrays["audio"][i, :len(audio)] = audio
    arrays["phonemes"][i, :len(ids)] = ids
  if len(keep) < len(records):
    print(f"{len(records) - len(keep)} of {len(records)} utterances exceed max_frames or "
          f"max_phonemes, or have characters the phoneme front end rejects, and are left out",
          flush=True)
  return arrays, texts


def score_mels(mels, num_frames, reference, reference_frames) -> dict[str, float]:
  """Mean DTW mel L1 and MCD of generated log-mels against the recordings' (numpy, per row), and
  the generated length over the recorded one (all frames of all rows)."""
  scores = [audio_io.compare_mels(m[:max(int(n), 1)], r[:int(k)])
            for m, n, r, k in zip(mels, num_frames, reference, reference_frames)]
  return {"mel_l1_dtw": float(np.mean([s["mel_l1"] for s in scores])),
          "mcd": float(np.mean([s["mcd"] for s in scores])),
          "length_ratio": float(np.sum(num_frames) / np.sum(reference_frames)),
          "utterances": len(scores)}


def padded_chunks(arrays: dict[str, np.ndarray], size: int):
  """(chunk, real rows) of `arrays` in rows of `size`; the last chunk repeats its final row up to
  `size`, so one compiled shape serves every chunk."""
  total = len(next(iter(arrays.values())))
  for start in range(0, total, size):
    rows = np.minimum(np.arange(start, start + size), total - 1)
    yield {k: v[rows] for k, v in arrays.items()}, min(size, total - start)


def concatenated(parts: list[dict]) -> dict[str, np.ndarray]:
  """Rows of chunk results {name: array} joined along the first axis."""
  return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def to_float(audio):
  return audio.astype(jnp.float32) / 32768.0


class SpeechData:
  """Mixin of the stages trained on recordings (before the family or `Stage` in the bases): the
  corpus of `config.dataset` as padded arrays and texts, the mel rule of `config.mel`, and a
  one-row batch of a user's text. `prepare(arrays, texts)` may add to a split's arrays."""
  sample_suffix = ".wav"

  def __init__(self, config, workdir: str | None):
    self.mel_config = mel_lib.MelConfig.from_config(config.mel)
    spec = pipeline.features(config.dataset, config.data_dir)
    self.num_voices = spec["voice"].num_classes if "voice" in spec else 1
    self._splits = {}
    self._recognizer = None  # PocketSphinx, loaded on the first intelligibility score
    # Built once per stage, for evaluation and sampling: the mel of a batch, of waveforms.
    self._log_mel = jax.jit(self.log_mel)
    self._mel_of_waves = jax.jit(lambda waves: mel_lib.mel_spectrogram(waves, self.mel_config))
    super().__init__(config, workdir)

  def prepare(self, arrays, texts):
    return arrays, texts

  def split(self, split: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """(arrays, texts) of `split`, read once."""
    if split not in self._splits:
      records = pipeline.read_split(self.config.dataset, split, self.config.data_dir)
      self._splits[split] = self.prepare(*speech_arrays(records, self.config, self.mel_config))
    return self._splits[split]

  @property
  def train_arrays(self) -> dict[str, np.ndarray]:
    return self.split(self.config.train_split)[0]

  @property
  def eval_arrays(self) -> dict[str, np.ndarray]:
    return self.split(self.config.eval_split)[0]

  @property
  def eval_texts(self) -> list[str]:
    return self.split(self.config.eval_split)[1]

  def example_batch(self, batch_size: int) -> dict[str, np.ndarray]:
    config = self.config
    return {"audio": np.zeros((batch_size, config.max_frames * self.mel_config.hop_length),
                              np.int16),
            "num_frames": np.full((batch_size,), config.max_frames, np.int32),
            "phonemes": np.zeros((batch_size, config.max_phonemes), np.int32),
            "num_phonemes": np.ones((batch_size,), np.int32),
            "voice": np.zeros((batch_size,), np.int32)}

  def log_mel(self, batch):
    """(B, max_frames, n_mels) log-mel of the batch's audio; padding frames hold the floor."""
    mel = mel_lib.mel_spectrogram(to_float(batch["audio"]), self.mel_config)
    mask = frame_mask(batch["num_frames"], self.config.max_frames)[..., None]
    return mask * mel + (1 - mask) * np.log(self.mel_config.log_floor)

  def text_inputs(self, text: str, voice: int = 0) -> dict[str, np.ndarray]:
    """One-row batch of phoneme inputs for `--text` (clear errors for empty or odd text)."""
    ids = phoneme_ids(text)
    if len(ids) > self.config.max_phonemes:
      raise UserError(f"the text has {len(ids)} phonemes; this model takes at most "
                      f"{self.config.max_phonemes} (max_phonemes): split it into sentences")
    if not 0 <= voice < self.num_voices:
      raise UserError(f"voice {voice} is not one of the {self.num_voices} voices")
    phonemes = np.zeros((1, self.config.max_phonemes), np.int32)
    phonemes[0, :len(ids)] = ids
    return {"phonemes": phonemes, "num_phonemes": np.array([len(ids)], np.int32),
            "voice": np.array([voice], np.int32)}

  def evaluated_arrays(self, full: bool, shown: int) -> dict[str, np.ndarray]:
    """The held-out rows an evaluation synthesizes: `shown` during training; with `full` the
    first `num_synthesized` (0: every utterance of the split)."""
    count = (self.config.num_synthesized or None) if full else shown
    return {k: v[:count] for k, v in self.eval_arrays.items()}

  def intelligibility(self, name: str, step: int, waves, num_frames) -> dict[str, float]:
    """{name_asr_wer, name_asr_utterances} of waveforms of the first len(waves) held-out texts, by
    PocketSphinx; their transcripts go to samples/NAME_transcripts_STEP.json."""
    if self._recognizer is None:
      self._recognizer = intelligibility.Recognizer()
    hop, rate = self.mel_config.hop_length, self.mel_config.sample_rate
    scores, transcripts = self._recognizer.score(waves, np.asarray(num_frames) * hop,
                                                 self.eval_texts[:len(waves)], rate)
    path = self.output_path(f"{name}_transcripts_{step:07d}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
      json.dump(transcripts, f, indent=1)
    return {f"{name}_{k}": v for k, v in scores.items()}

  def write_wav_and_mel(self, path: str, wave, log_mel) -> list[str]:
    """`path` (.wav) and beside it the PNG of its mel; returns both."""
    audio_io.write_wav(path, wave, self.mel_config.sample_rate)
    image = path.removesuffix(".wav") + ".png"
    audio_io.save_mel_png(image, log_mel, self.mel_config.log_floor)
    return [path, image]
