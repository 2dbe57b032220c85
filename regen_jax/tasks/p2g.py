"""Speech recognition, stage Y' -> Y: phonemes -> text (configs/asr_p2g.py), from text alone.

Training pairs come from the rule, so no speech is needed: each line of the text corpus
(`data/text_corpus.py`, 3x the speech corpus's sentences plus dictionary words) gives the phoneme
front end's symbols as input and the characters of its spoken form as target. The model is a
non-autoregressive transformer with a CTC head over characters (`models/recognizer.PhonemeToText`:
each phoneme position upsampled `upsample` times, every output attending to the whole sentence).
Evaluation: CER and WER of greedy decodes of held-out sentences from their rule phonemes; the
recognizer's evaluation scores it on recognised phonemes (the whole pipeline).
"""

import functools

import jax.numpy as jnp
import ml_collections
import numpy as np

from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.data import pipeline
from regen_jax.errors import UserError
from regen_jax.evaluate import text as text_metrics
from regen_jax.models import recognizer as recognizer_lib
from regen_jax.tasks.stage import CTCStage, SplitsWithTexts, Stage
from regen_jax.train import config as config_lib

OFFLINE_DATASET = "regen_text/full"
OFFLINE_DATASET_TINY = "regen_text/tiny"
_SHOWN = 2


def default_config(test: bool) -> ml_collections.ConfigDict:
  config = config_lib.base(test)
  config.task = "p2g"
  config.dataset = OFFLINE_DATASET_TINY if test else OFFLINE_DATASET
  config.max_phonemes = 96
  config.upsample = 2  # outputs per phoneme: sentences have ~1.2 letters per phoneme, "though" 3
  config.num_steps = 20 if test else 800  # ≈ 8 min on 2 CPU cores
  config.batch_size = 4 if test else 32
  config.eval_batch_size = 8 if test else 50
  config.num_eval_examples = 8 if test else 0
  config.eval_every = 10 if test else 400
  config.checkpoint_every = 10 if test else 200
  config.optimizer.learning_rate = 2e-3
  config.optimizer.weight_decay = 0.01
  config.model = ml_collections.ConfigDict()
  config.model.width = 32 if test else 128
  config.model.depth = 1 if test else 4
  config.model.num_heads = 2 if test else 4
  config.num_decoded = 8 if test else 150  # validation sentences decoded at each evaluation
  return config


def phoneme_rows(sequences, max_phonemes: int) -> dict[str, np.ndarray]:
  """Padded `phonemes` and `num_phonemes` of id sequences (longer ones cut at max_phonemes)."""
  phonemes = np.zeros((len(sequences), max_phonemes), np.int32)
  for row, ids in enumerate(sequences):
    phonemes[row, :min(len(ids), max_phonemes)] = ids[:max_phonemes]
  return {"phonemes": phonemes,
          "num_phonemes": np.array([min(len(s), max_phonemes) for s in sequences], np.int32)}


def text_arrays(texts: list[str], config) -> tuple[dict[str, np.ndarray], list[str]]:
  """Rule phonemes and spoken-form characters of the lines that fit the limits, and those lines."""
  max_characters = config.max_phonemes * config.upsample
  pairs, kept = [], []
  for text in texts:
    try:
      ids, characters = phoneme_lib.encode(text), phoneme_lib.encode_characters(text)
    except UserError:  # a character the front end has no rule for
      continue
    if len(ids) <= config.max_phonemes and len(characters) <= max_characters:
      pairs.append((ids, characters))
      kept.append(text)
  if not pairs:
    raise UserError(f"no line of {config.dataset!r} fits max_phonemes={config.max_phonemes}")
  if len(pairs) < len(texts):
    print(f"{len(texts) - len(pairs)} of {len(texts)} lines are too long or have characters the "
          f"front end rejects, and are left out", flush=True)
  labels = np.zeros((len(pairs), max_characters), np.int32)
  for row, (_, characters) in enumerate(pairs):
    labels[row, :len(characters)] = characters
  arrays = dict(phoneme_rows([ids for ids, _ in pairs], config.max_phonemes), labels=labels,
                num_labels=np.array([len(c) for _, c in pairs], np.int32))
  return arrays, kept


class Task(CTCStage, SplitsWithTexts, Stage):
  sample_inputs = ("text",)
  sample_suffix = ".txt"

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    model = config.model
    self.model = recognizer_lib.PhonemeToText(
        phoneme_lib.NUM_CHARACTERS, phoneme_lib.NUM_SYMBOLS, model.width, model.depth,
        model.num_heads, config.max_phonemes, config.upsample, jnp.dtype(config.compute_dtype))

  @functools.cache
  def _split(self, split: str):
    records = pipeline.read_split(self.config.dataset, split, self.config.data_dir)
    return text_arrays([r["text"].decode() for r in records], self.config)

  def example_batch(self, batch_size: int) -> dict[str, np.ndarray]:
    return {"phonemes": np.zeros((batch_size, self.config.max_phonemes), np.int32),
            "num_phonemes": np.ones((batch_size,), np.int32),
            "labels": np.zeros((batch_size, self.config.max_phonemes * self.config.upsample),
                               np.int32),
            "num_labels": np.ones((batch_size,), np.int32)}

  def init(self, rng, batch):
    return self.model.init(rng, batch["phonemes"], batch["num_phonemes"])["params"], {}

  def logits(self, params, model_state, batch, rng=None):
    del model_state, rng  # no state, no augmentation
    return self.model.apply({"params": params}, batch["phonemes"], batch["num_phonemes"])

  def transcribe(self, params, model_state, sequences) -> list[str]:
    """Text of phoneme id sequences (no leading boundary), e.g. a recognizer's output."""
    rows = phoneme_rows(sequences, self.config.max_phonemes)
    return [phoneme_lib.decode_characters(h) for h in self.decode(params, model_state, rows)]

  def on_eval(self, params, model_state, step, full=False):
    count = None if full else self.config.num_decoded
    arrays = {k: v[:count] for k, v in self.eval_arrays.items()}
    written = self.transcribe(params, model_state, [
        row[:n] for row, n in zip(arrays["phonemes"], arrays["num_phonemes"])])
    spoken = [phoneme_lib.spoken_text(t) for t in self.eval_texts[:count]]
    for reference, text in list(zip(spoken, written))[:_SHOWN]:
      print(f"reference: {reference}\ntext:      {text}", flush=True)
    return {"cer": text_metrics.char_error_rate(spoken, written),
            "wer": text_metrics.word_error_rate(spoken, written)}

  def sample(self, params, model_state, path, text=None):
    """`--text`: the rule's phonemes of the text and this stage's spelling of them."""
    if not text:
      raise UserError("give a sentence whose phonemes to spell: --text 'Hello there.'")
    ids = phoneme_lib.encode(text)
    lines = [f"phonemes: {phoneme_lib.to_string(ids)}",
             f"text: {self.transcribe(params, model_state, [ids])[0]}"]
    print("\n".join(lines), flush=True)
    with open(path, "w") as f:
      f.write("\n".join(lines) + "\n")
    return [path]
