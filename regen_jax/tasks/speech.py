"""What every speech stage shares: the corpus as padded arrays, the mel rule, the phoneme rule.

Each utterance becomes fixed-size rows (static shapes for jit): int16 `audio` trimmed to whole
mel frames and zero-padded to `max_frames * hop_length` samples, `num_frames`, phoneme ids of its
text from the front end (`abstractions/phonemes.py`) padded to `max_phonemes`, `num_phonemes`,
and `voice`. Utterances longer than either limit, or whose text has a character the front end has
no rule for, are left out (the count is printed). Mel frames are computed inside the jitted
step from the audio, by the one rule in `abstractions/mel.py`.
"""

import functools

import jax.numpy as jnp
import ml_collections
import numpy as np

from regen_jax.abstractions import mel as mel_lib
from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.data import pipeline
from regen_jax.errors import UserError
from regen_jax.evaluate import audio as audio_io
from regen_jax.tasks.stage import SplitsWithTexts, Stage
from regen_jax.train import config as config_lib

OFFLINE_DATASET = "regen_speech/full"
OFFLINE_DATASET_TINY = "regen_speech/tiny"
_AUDIO_KEYS = ("audio", "speech")  # ours and e.g. TFDS ljspeech


def base_config(test: bool) -> ml_collections.ConfigDict:
  config = config_lib.base(test)
  config.dataset = OFFLINE_DATASET_TINY if test else OFFLINE_DATASET
  config.mel = mel_lib.default_config_dict()
  config.max_frames = 448  # 5.2 s at 22.05 kHz, hop 256
  config.max_phonemes = 96
  config.eval_batch_size = 8 if test else 50
  config.num_eval_examples = 8 if test else 0
  config.num_synthesized = 4 if test else 50  # held-out utterances synthesized by `evaluate`
  return config


def phoneme_ids(text: str) -> np.ndarray:
  """The front end's phonemes of `text` after a word boundary that stands for the silence before
  the first word (the final pause symbol covers the silence after the last)."""
  return np.concatenate([[phoneme_lib.symbol_to_id[phoneme_lib.BOUNDARY]],
                         phoneme_lib.encode(text)]).astype(np.int32)


def mel_statistics(log_mel, num_frames) -> dict:
  """Per-bin mean and standard deviation of log-mel over real frames (a data-dependent init)."""
  mask = frame_mask(num_frames, log_mel.shape[1])[..., None]
  count = mask.sum((0, 1))
  mean = (log_mel * mask).sum((0, 1)) / count
  variance = (((log_mel - mean) ** 2) * mask).sum((0, 1)) / count
  return {"mean": mean, "std": jnp.sqrt(variance) + 0.1}


def normalize(log_mel, stats):
  """Standardised log-mel: silence (-11.5) no longer dominates the alignment's Gaussian scores."""
  return (log_mel - stats["mean"]) / stats["std"]


def denormalize(mel, stats):
  return mel * stats["std"] + stats["mean"]


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
  """Mean DTW mel L1 and MCD of generated log-mels against the recordings' (numpy, per row)."""
  scores = [audio_io.compare_mels(m[:max(int(n), 1)], r[:int(k)])
            for m, n, r, k in zip(mels, num_frames, reference, reference_frames)]
  return {"mel_l1_dtw": float(np.mean([s["mel_l1"] for s in scores])),
          "mcd": float(np.mean([s["mcd"] for s in scores]))}


def restore_paired(workdir: str, what: str, mel_config: mel_lib.MelConfig):
  """The speech stage trained in `workdir`, refused (before loading) unless its mel settings
  equal `mel_config`: an acoustic model and a vocoder must agree on Y'."""
  from regen_jax.train import loop  # the loop imports tasks: import it when needed
  saved = loop.saved_config(workdir, what)
  if "mel" not in saved:
    raise UserError(f"{workdir} holds a {saved.get('task')!r} stage, not {what}")
  mel_lib.check_same(mel_lib.MelConfig.from_config(saved.mel), mel_config, f"{what} in {workdir}")
  return loop.restore_for_inference(saved, workdir)


def to_float(audio):
  return audio.astype(jnp.float32) / 32768.0


def frame_mask(num_frames, max_frames: int):
  return (jnp.arange(max_frames)[None] < num_frames[:, None]).astype(jnp.float32)


class SpeechTask(SplitsWithTexts, Stage):
  sample_inputs: tuple[str, ...] = ("text", "voice")  # the `sample` command's flags
  sample_suffix = ".wav"

  def __init__(self, config, workdir: str | None):
    super().__init__(config, workdir)
    self.mel_config = mel_lib.MelConfig.from_config(config.mel)
    spec = pipeline.features(config.dataset, config.data_dir)
    self.num_voices = spec["voice"].num_classes if "voice" in spec else 1

  @functools.cache
  def _split(self, split: str):
    return speech_arrays(pipeline.read_split(self.config.dataset, split, self.config.data_dir),
                         self.config, self.mel_config)

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

  def meta(self) -> dict:
    return {"task": self.config.task, "mel": self.mel_config.as_dict()}

  def check_meta(self, meta: dict, workdir: str):
    if "mel" in meta:
      mel_lib.check_same(mel_lib.MelConfig.from_config(meta["mel"]), self.mel_config,
                         f"the checkpoint in {workdir}")
