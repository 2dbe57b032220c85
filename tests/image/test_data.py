"""The offline Fashion-MNIST build: Debian's IDX files, fixed splits, read back through TFDS."""

import numpy as np

from regen_jax.domains.image import data
from tests.conftest import DATASET


def test_debian_idx_files_have_the_published_sizes():
  root = data.source_dir()
  images = data.read_idx(f"{root}/t10k-images-idx3-ubyte.gz")
  labels = data.read_idx(f"{root}/t10k-labels-idx1-ubyte.gz")
  assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
  assert set(np.unique(labels)) == set(range(10))


def test_validation_split_is_disjoint_fixed_and_complete():
  train, valid = data.train_validation_indices(60000)
  assert len(valid) == data.NUM_VALIDATION and len(train) == 60000 - len(valid)
  assert not np.intersect1d(train, valid).size
  again_train, again_valid = data.train_validation_indices(60000)
  np.testing.assert_array_equal(valid, again_valid)
  np.testing.assert_array_equal(train, again_train)


def test_tiny_builder_reads_back_through_the_data_source(data_dir, tiny_validation):
  assert tiny_validation["image"].shape == (512, 28, 28, 1)
  assert tiny_validation["image"].dtype == np.uint8
  assert tiny_validation["label"].max() < 10
  shape, classes = data.shape_and_classes(DATASET, data_dir)
  assert shape == (28, 28, 1) and classes == 10
