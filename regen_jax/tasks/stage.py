"""Defaults of the task interface (see `regen_jax/tasks/__init__.py`) that most stages keep, and
what stages trained with CTC share."""

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np

from regen_jax.data import pipeline
from regen_jax.models import ctc


class Stage:
  progress_keys: tuple[str, ...] = ()  # metrics shown in the progress line besides the loss
  sample_inputs: tuple[str, ...] = ()  # the `sample` command's flags this task takes
  sample_suffix = ".png"

  def __init__(self, config, workdir: str | None):
    self.config, self.workdir = config, workdir

  def output_path(self, name: str) -> str:
    return os.path.join(self.workdir, "samples", name)

  def meta(self) -> dict:
    return {"task": self.config.task}

  def check_meta(self, meta: dict, workdir: str):
    del meta, workdir  # nothing beyond the config to agree on

  def phase(self, step: int):
    del step
    return None  # one loss for the whole run

  def on_eval(self, params, model_state, step: int, full: bool = False) -> dict:
    del params, model_state, step, full
    return {}


def map_batches(fn, arrays: dict[str, np.ndarray], batch_size: int):
  """`fn(batch)` (jitted, static shapes) over every row of `arrays` in padded batches of
  `batch_size`: its outputs as host arrays, concatenated along rows, padding rows dropped.
  Fewer rows than `batch_size` make one batch of just those rows (one file is not padded to 50)."""
  batch_size = min(batch_size, len(next(iter(arrays.values()))))
  outputs = []
  for batch in pipeline.eval_batches(arrays, batch_size):
    real = batch.pop("mask") > 0
    outputs.append(jax.tree.map(lambda x: np.asarray(x)[real], jax.device_get(fn(batch))))
  return jax.tree.map(lambda *rows: np.concatenate(rows), *outputs)


class SplitsWithTexts:
  """Train and evaluation arrays of a stage whose `_split(split)` gives (arrays, their texts)."""

  @property
  def train_arrays(self) -> dict[str, np.ndarray]:
    return self._split(self.config.train_split)[0]

  @property
  def eval_arrays(self) -> dict[str, np.ndarray]:
    return self._split(self.config.eval_split)[0]

  @property
  def eval_texts(self) -> list[str]:
    return self._split(self.config.eval_split)[1]


class CTCStage:
  """Loss, evaluation and decoding of a stage read by CTC (a mixin beside Stage): its
  `logits(params, model_state, batch, rng=None) -> (logits (B, T, V), lengths (B,))` is scored
  against the batch's `labels` (B, L) and `num_labels`; `rng` is given in training only."""
  progress_keys = ("ctc_per_label",)

  def loss(self, params, model_state, batch, rng, step):
    del step
    logits, lengths = self.logits(params, model_state, batch, rng)
    sums = ctc.fitting_sums(logits, lengths, batch["labels"], batch["num_labels"])
    loss = sums["ctc_sum"] / jnp.maximum(sums["labels"], 1)
    return loss, ({"ctc_per_label": loss, "rows_left_out": sums["rows_left_out"]}, model_state)

  def eval_metrics(self, params, model_state, batch):
    logits, lengths = self.logits(params, model_state, batch)
    return ctc.fitting_sums(logits, lengths, batch["labels"], batch["num_labels"], batch["mask"])

  def summarize(self, sums):
    return {"ctc_per_label": sums["ctc_sum"] / max(sums["labels"], 1),
            "rows_left_out": sums["rows_left_out"]}

  def log_probs(self, params, model_state, batch):
    logits, lengths = self.logits(params, model_state, batch)
    return jax.nn.log_softmax(logits), lengths

  @functools.cached_property
  def _jitted_log_probs(self):
    return jax.jit(self.log_probs)

  def decode(self, params, model_state, arrays: dict[str, np.ndarray],
             beam_size: int | None = None) -> list[list[int]]:
    """Label sequences of every row of `arrays`: greedy, or prefix beam search of `beam_size`."""
    log_probs, lengths = map_batches(
        lambda batch: self._jitted_log_probs(params, model_state, batch), arrays,
        self.config.eval_batch_size)
    return ctc.batch_decode(log_probs, lengths, beam_size)
