"""Images: the offline Fashion-MNIST TFDS builder, and image datasets as host arrays.

`RegenFashionMnist` builds Fashion-MNIST from the IDX files that Debian's `dataset-fashion-mnist`
ships, as array_record, so it is read with `tfds.data_source` + grain, without TensorFlow. The
validation split is a fixed, seeded 5 000-image subset of the original training set; the
original test set is the test split. `tiny` holds a prefix of each split, for tests. Any TFDS
dataset with `image` and `label` features reads the same way (`fashion_mnist`, `cifar10`, …).
"""

import dataclasses
import functools
import gzip
import os

import jax.numpy as jnp
import numpy as np
import tensorflow_datasets as tfds

from regen_jax.data import pipeline
from regen_jax.errors import UserError
from regen_jax.evaluate import images as image_io
from regen_jax.stages.base import Stage

SOURCE_DIR_ENV = "REGEN_JAX_FASHION_MNIST_DIR"
DEBIAN_SOURCE_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ("t-shirt/top", "trouser", "pullover", "dress", "coat",
               "sandal", "shirt", "sneaker", "bag", "ankle boot")
NUM_VALIDATION = 5000
_NUM_RECONSTRUCTIONS_SHOWN = 32
_SPLIT_SEED = 20171025  # fixed forever: changing it changes the validation split


@dataclasses.dataclass
class FashionMnistConfig(tfds.core.BuilderConfig):
  examples_per_split: int | None = None  # None: all


def read_idx(path: str) -> np.ndarray:
  """Reads a (gzipped) IDX file of unsigned bytes into an array of its declared shape."""
  with gzip.open(path, "rb") as f:
    data = f.read()
  zero, dtype_code, ndim = data[0] * 256 + data[1], data[2], data[3]
  if zero != 0 or dtype_code != 0x08:
    raise ValueError(f"{path} is not an IDX file of unsigned bytes")
  shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
  return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def source_dir() -> str:
  path = os.environ.get(SOURCE_DIR_ENV, DEBIAN_SOURCE_DIR)
  if not os.path.exists(os.path.join(path, "train-images-idx3-ubyte.gz")):
    raise FileNotFoundError(
        f"Fashion-MNIST IDX files not found in {path}: install Debian's package "
        f"(apt-get install dataset-fashion-mnist) or set {SOURCE_DIR_ENV}")
  return path


def train_validation_indices(num_examples: int) -> tuple[np.ndarray, np.ndarray]:
  """Sorted indices of the original training set that go to our train and validation splits."""
  order = np.random.default_rng(_SPLIT_SEED).permutation(num_examples)
  return np.sort(order[NUM_VALIDATION:]), np.sort(order[:NUM_VALIDATION])


class RegenFashionMnist(tfds.core.GeneratorBasedBuilder):
  """Fashion-MNIST (Zalando), 28x28 grayscale, 10 classes; train/validation/test = 55k/5k/10k."""

  VERSION = tfds.core.Version("1.0.0")
  BUILDER_CONFIGS = [
      FashionMnistConfig(name="full", description="All images."),
      FashionMnistConfig(name="tiny", description="First 512 images of each split (tests).",
                         examples_per_split=512),
  ]

  def _info(self):
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Tensor(shape=(28, 28, 1), dtype=np.uint8),
            "label": tfds.features.ClassLabel(names=CLASS_NAMES),
        }),
        supervised_keys=("image", "label"),
        homepage="https://github.com/zalandoresearch/fashion-mnist",
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # everything is local
    root = source_dir()
    train_x = read_idx(os.path.join(root, "train-images-idx3-ubyte.gz"))
    train_y = read_idx(os.path.join(root, "train-labels-idx1-ubyte.gz"))
    train, valid = train_validation_indices(len(train_x))
    test_x = read_idx(os.path.join(root, "t10k-images-idx3-ubyte.gz"))
    test_y = read_idx(os.path.join(root, "t10k-labels-idx1-ubyte.gz"))
    return {
        "train": self._generate_examples(train_x[train], train_y[train]),
        "validation": self._generate_examples(train_x[valid], train_y[valid]),
        "test": self._generate_examples(test_x, test_y),
    }

  def _generate_examples(self, images, labels):
    n = self.builder_config.examples_per_split or len(images)
    for i in range(min(n, len(images))):
      yield i, {"image": images[i][..., None], "label": int(labels[i])}


def shape_and_classes(name: str, data_dir: str | None) -> tuple[tuple[int, ...], int]:
  """(image shape (H, W, C), number of classes), from the dataset's metadata alone."""
  spec = pipeline.features(name, data_dir)
  shape = tuple(spec["image"].shape)
  if None in shape:
    raise UserError(f"{name}'s images have no fixed size ({shape}): these stages read images of "
                    f"one size; prepare a dataset of fixed-size images (no crop or resize here)")
  return (shape if len(shape) == 3 else (*shape, 1)), spec["label"].num_classes


def load(name: str, split: str, data_dir: str | None) -> dict[str, np.ndarray]:
  """Images (N, H, W, C) uint8 and labels of `split` of an image dataset."""
  records = pipeline.read_split(name, split, data_dir)
  arrays = {key: np.stack([np.asarray(r[key]) for r in records]) for key in ("image", "label")}
  if arrays["image"].ndim == 3:  # grayscale stored without a channel axis
    arrays["image"] = arrays["image"][..., None]
  return arrays


def to_float(images):
  return images.astype(jnp.float32) / 255.0


class ImageStage(Stage):
  """A stage trained on the images (and labels) of `config.dataset` themselves."""

  def __init__(self, config, workdir: str | None):
    super().__init__(config, workdir)
    self.image_shape, self.num_classes = shape_and_classes(config.dataset, config.data_dir)

  @functools.cached_property
  def train_arrays(self) -> dict[str, np.ndarray]:
    return load(self.config.dataset, self.config.train_split, self.config.data_dir)

  @functools.cached_property
  def eval_arrays(self) -> dict[str, np.ndarray]:
    return load(self.config.dataset, self.config.eval_split, self.config.data_dir)

  def example_batch(self, batch_size: int) -> dict[str, np.ndarray]:
    return {"image": np.zeros((batch_size, *self.image_shape), np.uint8),
            "label": np.zeros((batch_size,), np.int64)}

  def downsampled_grid(self, channels) -> tuple[int, int]:
    """(h, w) after the stride-2 convolutions of an encoder with `channels` (one per extra
    entry), or one error line when they do not divide the images."""
    factor, (height, width) = 2 ** (len(channels) - 1), self.image_shape[:2]
    if height % factor or width % factor:
      raise UserError(f"{len(channels) - 1} downsamplings (model.channels) do not divide "
                      f"images of {height}x{width}")
    return height // factor, width // factor

  def sample_path(self, name: str, step: int) -> str:
    return self.output_path(f"{name}_{step:07d}.png")

  def write_reconstructions(self, path: str, reconstruct):
    """Evaluation images (upper half) above `reconstruct(uint8 images)` (lower half), a PNG."""
    originals = self.eval_arrays["image"][:_NUM_RECONSTRUCTIONS_SHOWN]
    shown = jnp.concatenate([to_float(originals), jnp.clip(reconstruct(originals), 0, 1)])
    image_io.save_grid(path, shown, rows=8)
