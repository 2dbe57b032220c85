"""What every image stage shares: the dataset, its image shape and classes, defaults."""

import functools

import jax.numpy as jnp
import numpy as np

from regen_jax.data import pipeline
from regen_jax.errors import UserError
from regen_jax.tasks.stage import Stage


def to_float(images):
  return images.astype(jnp.float32) / 255.0


class ImageTask(Stage):

  def __init__(self, config, workdir: str | None):
    super().__init__(config, workdir)
    self.image_shape, self.num_classes = pipeline.image_shape_and_classes(config.dataset,
                                                                          config.data_dir)

  def _image_split(self, split: str) -> dict[str, np.ndarray]:
    return pipeline.load_split(self.config.dataset, split, self.config.data_dir)

  @functools.cached_property
  def train_arrays(self) -> dict[str, np.ndarray]:
    return self._image_split(self.config.train_split)

  @functools.cached_property
  def eval_arrays(self) -> dict[str, np.ndarray]:
    return self._image_split(self.config.eval_split)

  def example_batch(self, batch_size: int) -> dict[str, np.ndarray]:
    return {"image": np.zeros((batch_size, *self.image_shape), np.uint8),
            "label": np.zeros((batch_size,), np.int64)}

  def sample_path(self, name: str, step: int) -> str:
    return self.output_path(f"{name}_{step:07d}.png")

  def write_samples(self, params, model_state, path: str):
    del params, model_state, path
    raise UserError(f"task {self.config.task!r} has nothing to sample")

  def sample(self, params, model_state, path: str) -> list[str]:
    """The `sample` command: writes `path`, returns the files written."""
    self.write_samples(params, model_state, path)
    return [path]
