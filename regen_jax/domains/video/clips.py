"""What every stage trained on the moving Fashion-MNIST clips shares: their shape (from the
dataset's metadata), training batches streamed from array_record by grain workers (the training
split is never held in memory), the evaluation split held, and clips as floats."""

import functools

import jax.numpy as jnp
import numpy as np

from regen_jax.data import pipeline
from regen_jax.domains.video import data
from regen_jax.errors import UserError
from regen_jax.stages.base import Stage

TRAIN_KEYS = ("video", "label", "start", "velocity")  # what a training batch holds


def training_example(record, rng=None) -> dict[str, np.ndarray]:
  """A record as a training batch's row (a module function: grain workers pickle it)."""
  del rng
  example = data.clip_example(record)
  return {key: example[key] for key in TRAIN_KEYS}


def to_float(clips):
  return clips.astype(jnp.float32) / 255.0


class ClipStage(Stage):
  """A stage trained on the clips of `config.dataset` (`regen_moving_fashion/...`), read by
  `config.input.workers` grain worker processes."""

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    self.clip_shape = data.clip_shape(config.dataset, config.data_dir)

  @property
  def train_arrays(self):
    raise UserError(f"{self.config.dataset}'s training clips are streamed, not held in memory")

  def train_batches(self, global_batch_size: int, seed: int):
    source = pipeline.data_source(self.config.dataset, self.config.train_split,
                                  self.config.data_dir)
    return pipeline.stream_iterator(source, training_example, global_batch_size, seed,
                                    workers=self.config.input.workers)

  @functools.cached_property
  def eval_arrays(self) -> dict[str, np.ndarray]:
    arrays = data.load(self.config.dataset, self.config.eval_split, self.config.data_dir)
    limit = self.config.num_eval_examples or None
    return {key: value[:limit] for key, value in arrays.items()}

  def example_batch(self, batch_size: int) -> dict[str, np.ndarray]:
    return {"video": np.zeros((batch_size, *self.clip_shape), np.uint8),
            "label": np.zeros((batch_size, data.MAX_ITEMS), np.int64),
            "start": np.zeros((batch_size, data.MAX_ITEMS, 2), np.float32),
            "velocity": np.zeros((batch_size, data.MAX_ITEMS, 2), np.float32)}
