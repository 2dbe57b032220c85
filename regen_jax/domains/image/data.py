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
from PIL import Image

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


def shape_and_classes(name: str, data_dir: str | None,
                      image_size: int = 0) -> tuple[tuple[int, ...], int]:
  """(image shape (H, W, C), number of classes), from the dataset's metadata alone; with
  `image_size`, the shape of its images cropped to that size."""
  spec = pipeline.features(name, data_dir)
  shape = tuple(spec["image"].shape)
  shape = shape if len(shape) == 3 else (*shape, 1)
  if image_size:
    return (image_size, image_size, shape[-1]), spec["label"].num_classes
  if None in shape:
    raise UserError(f"{name}'s images have no fixed size ({shape}): set config.input "
                    f"(image_size, workers) to stream them resized and cropped, as the :paper "
                    f"configs do")
  return shape, spec["label"].num_classes


def square_crop(image: np.ndarray, size: int, rng: np.random.Generator | None = None):
  """`image` (H, W, C uint8) with its shorter side resized to `size` (bicubic), cropped to
  size x size: at a random offset and flipped half the time given `rng` (training), centred
  without."""
  height, width, channels = image.shape
  scale = size / min(height, width)
  resized = Image.fromarray(image[..., 0] if channels == 1 else image).resize(
      (max(size, round(width * scale)), max(size, round(height * scale))), Image.BICUBIC)
  array = np.asarray(resized).reshape(resized.height, resized.width, channels)
  spare_rows, spare_columns = array.shape[0] - size, array.shape[1] - size
  if rng is None:
    top, left = spare_rows // 2, spare_columns // 2
  else:
    top, left = rng.integers(0, spare_rows + 1), rng.integers(0, spare_columns + 1)
  crop = array[top:top + size, left:left + size]
  if rng is not None and rng.random() < 0.5:
    crop = crop[:, ::-1]
  return np.ascontiguousarray(crop)


def cropped_example(record: dict, rng: np.random.Generator | None, size: int) -> dict:
  """A TFDS record of any image size as the stages' arrays, cropped by `square_crop`."""
  image = np.asarray(record["image"])
  image = image[..., None] if image.ndim == 2 else image
  return {"image": square_crop(image, size, rng), "label": np.int64(record["label"])}


def load(name: str, split: str, data_dir: str | None) -> dict[str, np.ndarray]:
  """Images (N, H, W, C) uint8 and labels of `split` of an image dataset."""
  records = pipeline.read_split(name, split, data_dir)
  arrays = {key: np.stack([np.asarray(r[key]) for r in records]) for key in ("image", "label")}
  if arrays["image"].ndim == 3:  # grayscale stored without a channel axis
    arrays["image"] = arrays["image"][..., None]
  return arrays


class CroppedImages:
  """The images of a split of any sizes, centre-cropped to `size` as they are sliced: a prior
  encodes Y chunk by chunk without holding the split."""

  def __init__(self, name: str, split: str, data_dir: str | None, size: int):
    self.source, self.size = pipeline.data_source(name, split, data_dir), size

  def __len__(self):
    return len(self.source)

  def __getitem__(self, rows: slice) -> np.ndarray:
    return np.stack([cropped_example(self.source[i], None, self.size)["image"]
                     for i in range(*rows.indices(len(self)))])


def labels(name: str, split: str, data_dir: str | None) -> np.ndarray:
  """The labels of `split`, read in batched reads without decoding its images."""
  source = pipeline.data_source(name, split, data_dir, {"image": tfds.decode.SkipDecoding()})
  return np.asarray([record["label"] for record in pipeline.read_all(source)], np.int64)


def load_cropped(name: str, split: str, data_dir: str | None, size: int,
                 limit: int = 0) -> dict[str, np.ndarray]:
  """`load` for images of any size: the first `limit` (0: all), centre-cropped to `size`."""
  images = CroppedImages(name, split, data_dir, size)
  count = min(limit or len(images), len(images))
  return {"image": images[:count], "label": labels(name, split, data_dir)[:count]}


def to_float(images):
  return images.astype(jnp.float32) / 255.0


class ImageStage(Stage):
  """A stage trained on the images (and labels) of `config.dataset` themselves.

  Without `config.input` the images are of one size and each split is held in memory. With it
  (`image_size`, `workers`: the paper-size configs, ImageNet) training images of any size are
  streamed, resized and randomly cropped to image_size (`square_crop`), by `workers` processes;
  the evaluation split's first `num_eval_examples` are centre-cropped and held.
  """

  def __init__(self, config, workdir: str | None):
    super().__init__(config, workdir)
    self.input = config.get("input")  # absent in the configs of fixed-size datasets
    self.image_shape, self.num_classes = shape_and_classes(
        config.dataset, config.data_dir, self.input.image_size if self.input else 0)

  @functools.cached_property
  def train_arrays(self) -> dict[str, np.ndarray]:
    if self.input:
      raise UserError(f"{self.config.dataset} is streamed (config.input): its training split "
                      f"is not held in memory")
    return load(self.config.dataset, self.config.train_split, self.config.data_dir)

  @functools.cached_property
  def eval_arrays(self) -> dict[str, np.ndarray]:
    if not self.input:
      return load(self.config.dataset, self.config.eval_split, self.config.data_dir)
    return load_cropped(self.config.dataset, self.config.eval_split, self.config.data_dir,
                        self.input.image_size, self.config.num_eval_examples)

  def train_batches(self, global_batch_size: int, seed: int):
    if not self.input:
      return super().train_batches(global_batch_size, seed)
    source = pipeline.data_source(self.config.dataset, self.config.train_split,
                                  self.config.data_dir)
    return pipeline.stream_iterator(
        source, functools.partial(cropped_example, size=self.input.image_size),
        global_batch_size, seed, workers=self.input.workers)

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
