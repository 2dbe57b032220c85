"""The input pipeline: TFDS reads, resumable shuffled batches, padded evaluation batches, and
batches prefetched to the devices with the iterator state that travels with each."""

import jax
import numpy as np
import pytest

from regen_jax.core import sharding
from regen_jax.data import pipeline
from regen_jax.errors import UserError
from tests.conftest import DATASET


def test_unknown_dataset_and_split_are_clear_errors(data_dir):
  with pytest.raises(UserError, match="unknown TFDS dataset"):
    pipeline.read_split("no_such_dataset_xyz", "train", data_dir)
  with pytest.raises(UserError, match="has no split"):
    pipeline.read_split(DATASET, "dev", data_dir)


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
  np.testing.assert_array_equal(np.concatenate([b["x"][b["mask"] > 0] for b in batches]),
                                np.arange(10))


def test_prefetch_keeps_the_order_and_each_batch_its_iterator_state():
  """What a checkpoint records (the state after the batch a step read) resumes at the next
  batch, however many batches the prefetcher holds on the devices."""
  arrays = {"x": np.arange(40)}
  mesh = sharding.make_mesh()
  it = pipeline.train_iterator(arrays, 4, seed=1)
  plain = [next(pipeline.train_iterator(arrays, 4, seed=1))["x"]]
  fetched = sharding.prefetch(((b, it.get_state()) for b in it), mesh, size=3)
  first, state = next(fetched)
  assert isinstance(first["x"], jax.Array)
  np.testing.assert_array_equal(np.asarray(first["x"]), plain[0])
  resumed = pipeline.train_iterator(arrays, 4, seed=1)
  resumed.set_state(state)
  np.testing.assert_array_equal(np.asarray(next(fetched)[0]["x"]), next(resumed)["x"])


def test_map_batches_drops_padding_and_takes_fewer_rows_than_a_batch():
  arrays = {"x": np.arange(7)}
  seen = []

  def double(batch):
    seen.append(len(batch["x"]))
    return batch["x"] * 2

  np.testing.assert_array_equal(pipeline.map_batches(double, arrays, 4), np.arange(7) * 2)
  assert seen == [4, 4]
  assert len(pipeline.map_batches(double, {"x": np.arange(2)}, 50)) == 2 and seen[-1] == 2


def test_streamed_rows_draw_the_same_in_a_process_share(monkeypatch):
  """Each row of a global batch has its own generator: a process making rows 2-3 of a batch of
  4 (two hosts) transforms them as one process making all four does."""
  source = [{"value": np.int64(i)} for i in range(10)]
  transform = lambda record, rng: {"value": record["value"], "draw": rng.integers(1 << 30)}
  whole = next(pipeline.stream_iterator(source, transform, 4, seed=5))
  monkeypatch.setattr(pipeline, "_process_rows", lambda size: slice(2, 4))
  share = next(pipeline.stream_iterator(source, transform, 4, seed=5))
  for key in ("value", "draw"):
    np.testing.assert_array_equal(share[key], whole[key][2:])
  assert len(set(whole["draw"].tolist())) == 4
