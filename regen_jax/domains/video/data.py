"""TFDS builder `regen_moving_fashion`: Moving Fashion-MNIST clips, built offline as array_record.

Like Moving MNIST: each clip is `NUM_FRAMES` frames of one or two Fashion-MNIST items (Debian's
IDX files, read by the image domain's `read_idx`) moving at constant velocity on a black
background and bouncing off the frame's borders; frames are the pixelwise max of the items.
Splits follow the image domain's: train clips draw items from its train indices, validation
clips from its validation indices (both of the original training file), test clips from the
original test file (t10k). Each split consumes a seeded permutation of its items, so no item is
in two splits, nor (while the split has items left) in two clips of one split. Each record keeps
its items' classes, indices, start positions, velocities and per-frame positions (`track`), which
evaluation uses.
"""

import dataclasses
import math
import os

import numpy as np
import tensorflow_datasets as tfds

from regen_jax.data import pipeline
from regen_jax.domains.image import data as image_data

NUM_FRAMES = 16
NUM_CLASSES = 10
NO_ITEM = 10  # the label of an absent second item
MAX_ITEMS = 2
CLASS_NAMES = image_data.CLASS_NAMES
SOURCE_SIZE = 28  # Fashion-MNIST's items, rows = columns
_CLIP_SEED = 20260612  # fixed forever: changing it changes every clip
_SPLITS = ("train", "validation", "test")
_SPEED_AT_32 = (1.0, 3.0)  # px/frame at 32x32 frames, scaled with the frame size
_FEATURE_KEYS = ("video", "label", "start", "velocity", "track")


@dataclasses.dataclass
class MovingFashionConfig(tfds.core.BuilderConfig):
  frame_size: int = 64
  item_size: int = SOURCE_SIZE
  train_clips: int = 36000  # ~54k items of train's 55k: none is used twice
  validation_clips: int = 2000
  test_clips: int = 2000


def resize_items(images: np.ndarray, item_size: int) -> np.ndarray:
  """(N, 28, 28) uint8 items as (N, item_size, item_size): downscaled, the mean of each k x k
  block (as PIL's BOX filter), so the items keep their total brightness; upscaled, each pixel
  repeated k x k times (nearest)."""
  if item_size == images.shape[1]:
    return images
  if item_size > images.shape[1] and item_size % images.shape[1] == 0:
    factor = item_size // images.shape[1]
    return np.repeat(np.repeat(images, factor, axis=1), factor, axis=2)
  factor = images.shape[1] // item_size
  if factor * item_size != images.shape[1]:
    raise ValueError(f"item size {item_size} does not divide {images.shape[1]}")
  blocks = images.reshape(len(images), item_size, factor, item_size, factor)
  return np.round(blocks.mean(axis=(2, 4))).astype(np.uint8)


def bounce_track(start, velocity, limit: float, num_frames: int) -> np.ndarray:
  """Positions (num_frames, 2) of a point moving from `start` at `velocity` (row, col) per frame
  inside [0, limit] in each axis: where a step leaves the interval it is reflected back in and
  that velocity component flips, as a ball bouncing off a wall."""
  position, velocity = np.asarray(start, np.float64), np.asarray(velocity, np.float64)
  if np.any(np.abs(velocity) > limit):
    raise ValueError(f"speed {velocity} could cross the whole range [0, {limit}] in a frame")
  track = [position]
  for _ in range(num_frames - 1):
    position = position + velocity
    low, high = position < 0, position > limit
    position = np.where(low, -position, np.where(high, 2 * limit - position, position))
    velocity = np.where(low | high, -velocity, velocity)
    track.append(position)
  return np.stack(track)


def render_clip(items: list[np.ndarray], starts, velocities, frame_size: int,
                num_frames: int = NUM_FRAMES) -> tuple[np.ndarray, np.ndarray]:
  """(clip (num_frames, S, S, 1) uint8, track (num_frames, len(items), 2) float) of square
  `items` moving from `starts` (top-left row, col) at `velocities`: each item drawn at its
  rounded position, overlaps by pixelwise max, black elsewhere."""
  clip = np.zeros((num_frames, frame_size, frame_size), np.uint8)
  tracks = []
  for item, start, velocity in zip(items, starts, velocities):
    size = item.shape[0]
    track = bounce_track(start, velocity, frame_size - size, num_frames)
    for frame, (row, col) in zip(clip, np.rint(track).astype(int)):
      window = frame[row:row + size, col:col + size]
      np.maximum(window, item, out=window)
    tracks.append(track)
  tracks = np.stack(tracks, axis=1) if tracks else np.zeros((num_frames, 0, 2))
  return clip[..., None], tracks


def plan_clips(num_clips: int, num_items: int, frame_size: int, item_size: int,
               rng: np.random.Generator) -> dict[str, np.ndarray]:
  """The random draws of `num_clips` clips over a pool of `num_items` items: `slot` (N, 2) int64,
  each slot's position in the pool (-1: no second item), `start` and `velocity` (N, 2, 2) float
  (zeros where absent). Slots consume a permutation of the pool, and a fresh one each time it
  runs out (no config asks for that many clips; a larger one would reuse items)."""
  counts = rng.integers(1, MAX_ITEMS + 1, num_clips)  # 1 or 2 items, probability 1/2 each
  starts = rng.uniform(0, frame_size - item_size, (num_clips, MAX_ITEMS, 2))
  angles = rng.uniform(0, 2 * np.pi, (num_clips, MAX_ITEMS))
  speeds = rng.uniform(*_SPEED_AT_32, (num_clips, MAX_ITEMS)) * frame_size / 32
  velocities = speeds[..., None] * np.stack([np.sin(angles), np.cos(angles)], axis=-1)
  needed = int(counts.sum())
  order = np.concatenate([rng.permutation(num_items)
                          for _ in range(math.ceil(needed / num_items))])[:needed]
  present = np.arange(MAX_ITEMS) < counts[:, None]
  slots = np.full((num_clips, MAX_ITEMS), -1, np.int64)
  slots[present] = order  # row-major: clip by clip, slot 0 then slot 1
  return {"slot": slots, "start": np.where(present[..., None], starts, 0.0),
          "velocity": np.where(present[..., None], velocities, 0.0)}


def split_pools() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
  """{split: (images (N, 28, 28) uint8, labels (N,), indices in their IDX file)}: the image
  domain's train and validation indices of the training file, and the whole test file."""
  root = image_data.source_dir()
  read = lambda name: image_data.read_idx(os.path.join(root, name))
  train_x, train_y = read("train-images-idx3-ubyte.gz"), read("train-labels-idx1-ubyte.gz")
  test_x, test_y = read("t10k-images-idx3-ubyte.gz"), read("t10k-labels-idx1-ubyte.gz")
  train, valid = image_data.train_validation_indices(len(train_x))
  test = np.arange(len(test_x))
  return {"train": (train_x[train], train_y[train], train),
          "validation": (train_x[valid], train_y[valid], valid),
          "test": (test_x, test_y, test)}


class RegenMovingFashion(tfds.core.GeneratorBasedBuilder):
  """Moving Fashion-MNIST: 16-frame grayscale clips of 1 or 2 bouncing Fashion-MNIST items."""

  VERSION = tfds.core.Version("1.0.0")
  BUILDER_CONFIGS = [
      MovingFashionConfig(name="full", description="64x64 frames, 28x28 items; 36k/2k/2k clips"),
      MovingFashionConfig(name="small", description="32x32 frames, 14x14 items; 12k/1k/1k clips",
                          frame_size=32, item_size=14, train_clips=12000,
                          validation_clips=1000, test_clips=1000),
      MovingFashionConfig(name="tiny", description="as small, 256/64/64 clips (tests)",
                          frame_size=32, item_size=14, train_clips=256, validation_clips=64,
                          test_clips=64),
      MovingFashionConfig(name="paper", description="128x128 frames, 56x56 items (each pixel "
                          "2x2); 36k/2k/2k clips (the paper-size configs)", frame_size=128,
                          item_size=56),
  ]

  def _info(self):
    size = self.builder_config.frame_size
    vector = lambda *shape, dtype=np.float32: tfds.features.Tensor(shape=shape, dtype=dtype)
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            # Mostly black: zlib shrinks it several times.
            "video": tfds.features.Tensor(shape=(NUM_FRAMES, size, size, 1), dtype=np.uint8,
                                          encoding=tfds.features.Encoding.ZLIB),
            "label": vector(MAX_ITEMS, dtype=np.int64),  # NO_ITEM where absent
            "item_index": vector(MAX_ITEMS, dtype=np.int64),  # in its IDX file; -1: absent
            "start": vector(MAX_ITEMS, 2),  # top-left (row, col) in frame 0
            "velocity": vector(MAX_ITEMS, 2),  # px/frame (row, col), before any bounce
            "track": vector(NUM_FRAMES, MAX_ITEMS, 2),  # top-left per frame, unrounded
        }),
        homepage="https://github.com/zalandoresearch/fashion-mnist",
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # everything is local
    pools = split_pools()
    return {split: self._generate_examples(split, *pools[split]) for split in _SPLITS}

  def _generate_examples(self, split, images, labels, indices):
    config = self.builder_config
    num_clips = getattr(config, f"{split}_clips")
    rng = np.random.default_rng([_CLIP_SEED, _SPLITS.index(split)])
    plan = plan_clips(num_clips, len(images), config.frame_size, config.item_size, rng)
    used = np.unique(plan["slot"][plan["slot"] >= 0])
    small = dict(zip(used, resize_items(images[used], config.item_size)))
    for i, (slots, starts, velocities) in enumerate(
        zip(plan["slot"], plan["start"], plan["velocity"])):
      present = slots >= 0
      clip, track = render_clip([small[s] for s in slots[present]], starts[present],
                                velocities[present], config.frame_size)
      full_track = np.zeros((NUM_FRAMES, MAX_ITEMS, 2), np.float32)
      full_track[:, present] = track
      yield i, {"video": clip,
                "label": np.where(present, labels[slots], NO_ITEM).astype(np.int64),
                "item_index": np.where(present, indices[slots], -1).astype(np.int64),
                "start": starts.astype(np.float32), "velocity": velocities.astype(np.float32),
                "track": full_track}


def load(name: str, split: str, data_dir: str | None) -> dict[str, np.ndarray]:
  """Every record of `split` stacked per feature (the evaluation split, held in memory)."""
  records = pipeline.read_split(name, split, data_dir)
  return {key: np.stack([np.asarray(r[key]) for r in records]) for key in records[0]}


def clip_example(record: dict, rng: np.random.Generator | None = None) -> dict:
  """A record as the arrays of one row of a training batch (for `pipeline.stream_iterator`; the
  clips are not augmented, so `rng` is unused)."""
  del rng
  return {key: np.asarray(record[key]) for key in _FEATURE_KEYS}


def clip_shape(name: str, data_dir: str | None) -> tuple[int, int, int, int]:
  """(frames, height, width, channels) of the dataset's clips, from its metadata alone."""
  return tuple(pipeline.features(name, data_dir)["video"].shape)
