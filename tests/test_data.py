import numpy as np
import pytest

from regen_jax.data import fashion_mnist, pipeline
from regen_jax.errors import UserError
from tests.conftest import DATASET


def test_debian_idx_files_have_the_published_sizes():
  root = fashion_mnist.source_dir()
  images = fashion_mnist.read_idx(f"{root}/t10k-images-idx3-ubyte.gz")
  labels = fashion_mnist.read_idx(f"{root}/t10k-labels-idx1-ubyte.gz")
  assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
  assert set(np.unique(labels)) == set(range(10))


def test_validation_split_is_disjoint_fixed_and_complete():
  train, valid = fashion_mnist.train_validation_indices(60000)
  assert len(valid) == fashion_mnist.NUM_VALIDATION and len(train) == 60000 - len(valid)
  assert not np.intersect1d(train, valid).size
  again_train, again_valid = fashion_mnist.train_validation_indices(60000)
  np.testing.assert_array_equal(valid, again_valid)
  np.testing.assert_array_equal(train, again_train)


def test_tiny_builder_reads_back_through_the_data_source(data_dir, tiny_validation):
  assert tiny_validation["image"].shape == (512, 28, 28, 1)
  assert tiny_validation["image"].dtype == np.uint8
  assert tiny_validation["label"].max() < 10
  shape, classes = pipeline.image_shape_and_classes(DATASET, data_dir)
  assert shape == (28, 28, 1) and classes == 10


def test_unknown_dataset_and_split_are_clear_errors(data_dir):
  with pytest.raises(UserError, match="unknown TFDS dataset"):
    pipeline.load_split("no_such_dataset_xyz", "train", data_dir)
  with pytest.raises(UserError, match="has no split"):
    pipeline.load_split(DATASET, "dev", data_dir)


def test_train_iterator_resumes_exactly_from_its_state():
  arrays = {"x": np.arange(50), "label": np.arange(50) % 3}
  it = pipeline.train_iterator(arrays, 8, seed=3)
  for _ in range(4):
    next(it)
  state = it.get_state()
  expected = [next(it)["x"] for _ in range(10)]  # crosses an epoch boundary
  resumed = pipeline.train_iterator(arrays, 8, seed=3)
  resumed.set_state(state)
  for want in expected:
    np.testing.assert_array_equal(next(resumed)["x"], want)
  first_epoch = np.concatenate([next(pipeline.train_iterator(arrays, 50, seed=3))["x"]])
  assert sorted(first_epoch) == list(range(50))  # a permutation: every example once


def test_eval_batches_pad_the_last_batch_and_mask_it():
  arrays = {"x": np.arange(10)}
  batches = list(pipeline.eval_batches(arrays, 4))
  assert [len(b["x"]) for b in batches] == [4, 4, 4]
  np.testing.assert_array_equal(batches[-1]["mask"], [1, 1, 0, 0])
  np.testing.assert_array_equal(np.concatenate([b["x"][b["mask"] > 0] for b in batches]), np.arange(10))
