"""Images of any size, streamed (the paper-size configs' input): a TFDS dataset of real
photographs of many sizes (crops of the photograph that matplotlib ships), read by grain,
resized and cropped as its batches are made, and resumable."""

import os

import matplotlib
import ml_collections
import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from regen_jax.core import loop
from regen_jax.data import pipeline
from regen_jax.domains.image import data
from regen_jax.stages import base as stage_lib
from tests.helpers import config, logged

PHOTO = os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")
NAME = "regen_test_photos"
SIZE = 32


class RegenTestPhotos(tfds.core.GeneratorBasedBuilder):
  """Crops of one real photograph, 24 to 120 pixels a side, stored as JPEG."""
  VERSION = tfds.core.Version("1.0.0")

  def _info(self):
    return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
        "image": tfds.features.Image(shape=(None, None, 3), encoding_format="jpeg"),
        "label": tfds.features.ClassLabel(num_classes=2)}))

  def _split_generators(self, dl_manager):
    del dl_manager
    return {"train": self._generate_examples(0, 12), "validation": self._generate_examples(1, 4)}

  def _generate_examples(self, seed, count):
    photo, rng = Image.open(PHOTO).convert("RGB"), np.random.default_rng(seed)
    for i in range(count):
      width, height = (int(x) for x in rng.integers(24, 121, 2))
      left, top = rng.integers(0, photo.width - width), rng.integers(0, photo.height - height)
      yield i, {"image": photo.crop((left, top, left + width, top + height)), "label": i % 2}


@pytest.fixture(scope="module")
def photos_dir(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("photos"))
  pipeline.data_source(NAME, "train", path)  # prepares it
  return path


def test_square_crop_resizes_the_shorter_side_then_crops():
  photo = np.asarray(Image.open(PHOTO).convert("RGB"))  # 600 rows, 512 columns
  centre = data.square_crop(photo, SIZE)
  assert centre.shape == (SIZE, SIZE, 3) and centre.dtype == np.uint8
  resized = np.asarray(Image.fromarray(photo).resize((SIZE, 38), Image.BICUBIC))  # 37.5 rounded
  np.testing.assert_array_equal(centre, resized[3:3 + SIZE])
  crops = [data.square_crop(photo, SIZE, np.random.default_rng(seed)) for seed in range(8)]
  windows = [resized[top:top + SIZE] for top in range(resized.shape[0] - SIZE + 1)]
  for crop in crops:  # a window of the resized photo, or its mirror image
    assert any(np.array_equal(crop, w) or np.array_equal(crop, w[:, ::-1]) for w in windows)
  assert len({crop.tobytes() for crop in crops}) > 1


def _stream(photos_dir, workers=0):
  source = pipeline.data_source(NAME, "train", photos_dir)
  transform = lambda record, rng: data.cropped_example(record, rng, SIZE)
  return pipeline.stream_iterator(source, transform, 4, seed=3, workers=workers)


def test_stream_resumes_where_it_stopped_and_workers_change_no_batch(photos_dir):
  stream = _stream(photos_dir)
  first = [next(stream) for _ in range(3)]
  assert first[0]["image"].shape == (4, SIZE, SIZE, 3) and first[0]["image"].dtype == np.uint8
  state = stream.get_state()
  expected = [next(stream) for _ in range(2)]
  resumed = _stream(photos_dir)
  resumed.set_state(state)
  for batch, again in zip(expected, (next(resumed) for _ in range(2))):
    np.testing.assert_array_equal(batch["image"], again["image"])
  in_workers = _stream(photos_dir, workers=2)
  start = in_workers.get_state()
  np.testing.assert_array_equal(first[0]["image"], next(in_workers)["image"])
  in_workers.set_state(start)  # as the loop does after the batch its initialisation sees
  for batch in first:
    np.testing.assert_array_equal(batch["image"], next(in_workers)["image"])
  in_workers.close()


def _streamed(stage_config, photos_dir):
  stage_config.update_from_flattened_dict({"dataset": NAME, "data_dir": photos_dir})
  stage_config.input = ml_collections.ConfigDict({"image_size": SIZE, "workers": 0})
  return stage_config


def test_autoencoder_and_flow_prior_train_on_streamed_photos_of_any_size(photos_dir, tmp_path):
  stage_config = _streamed(config("image/autoencoder.py:test"), photos_dir)
  stage_config.update_from_flattened_dict({"batch_size": 4, "num_steps": 6, "eval_every": 6})
  stage = stage_lib.build(stage_config)
  assert stage.image_shape == (SIZE, SIZE, 3)
  assert stage.eval_arrays["image"].shape == (4, SIZE, SIZE, 3)  # the validation crops
  loop.train(stage_config, str(tmp_path / "autoencoder"))
  rows = logged(tmp_path / "autoencoder")
  assert all(np.isfinite(row["loss"]) for row in rows if "loss" in row)
  assert any("eval/psnr" in row for row in rows)
  # The prior encodes the training photos chunk by chunk, centre-cropped as stage 1 crops them.
  prior_config = config("image/flow.py:test")
  prior_config.stage1 = _streamed(prior_config.stage1, photos_dir)
  prior_config.stage1.workdir = str(tmp_path / "autoencoder")
  prior = stage_lib.build(prior_config)
  arrays = prior.train_arrays
  assert arrays["latents"].shape == (12, SIZE // 2, SIZE // 2, 4)
  # Labels read without decoding the images are each record's own.
  records = pipeline.data_source(NAME, "train", photos_dir)
  np.testing.assert_array_equal(arrays["label"], [records[i]["label"] for i in range(12)])
  assert np.bincount(arrays["label"]).tolist() == [6, 6]
