"""Input pipeline: TFDS data sources, batched and shuffled with grain, held or streamed.

Small datasets (Fashion-MNIST is 47 MB, the offline speech corpus 376 MB) are read once with
batched `__getitems__` (fast) and held as numpy arrays; grain shuffles and batches *indices* and
one vectorised gather makes each batch (`train_iterator`). Large ones (ImageNet) are streamed
(`stream_iterator`): each batch's records are read from the array_record data source and
transformed (decoded, cropped) when the batch is made, in reader threads or worker processes.
Either way the grain iterator state goes into every checkpoint, so a resumed run sees exactly the
batches an uninterrupted run would.
A domain's own TFDS builders are registered when its module is imported, which building one of
its stages does.
"""

import os

import grain
import jax
from absl import flags
import numpy as np
import tensorflow_datasets as tfds

from regen_jax.errors import UserError

_READ_CHUNK = 4096


def _builder(name: str, data_dir: str | None):
  data_dir = os.path.expanduser(data_dir) if data_dir else None
  try:
    return tfds.builder(name, data_dir=data_dir, file_format="array_record")
  except Exception as e:  # tfds raises several types for unknown names
    raise UserError(f"unknown TFDS dataset {name!r}: {e}".splitlines()[0]) from None


def data_source(name: str, split: str, data_dir: str | None, decoders=None):
  """The random-access source of `split` of TFDS dataset `name` (prepared first if it is one of
  ours): `len`, and records read and decoded (per TFDS `decoders`) on access."""
  builder = _builder(name, data_dir)
  if not builder.is_prepared():
    builder.download_and_prepare()
  split_name = split.split("[")[0]
  if split_name not in builder.info.splits:
    raise UserError(f"dataset {name!r} has no split {split!r}; it has "
                    f"{sorted(builder.info.splits)}")
  return builder.as_data_source(split=split, decoders=decoders)


def read_split(name: str, split: str, data_dir: str | None) -> list[dict]:
  """Every record of `split` of TFDS dataset `name`, in host memory."""
  return read_all(data_source(name, split, data_dir))


def read_all(source) -> list[dict]:
  """Every record of a data source, in batched reads."""
  records = []
  for start in range(0, len(source), _READ_CHUNK):
    records.extend(source.__getitems__(range(start, min(start + _READ_CHUNK, len(source)))))
  return records


def features(name: str, data_dir: str | None):
  """The dataset's feature spec, from its metadata alone (nothing is read or prepared)."""
  return _builder(name, data_dir).info.features


def _process_rows(global_batch_size: int) -> slice:
  """This process's contiguous block of a global batch: the assembled batch keeps the order a
  single process would see (row order matters to e.g. dead-code restarts)."""
  count, index = jax.process_count(), jax.process_index()
  if global_batch_size % count:
    raise UserError(f"batch size {global_batch_size} is not divisible by {count} processes")
  share = global_batch_size // count
  return slice(index * share, (index + 1) * share)


def train_iterator(arrays: dict[str, np.ndarray], global_batch_size: int, seed: int):
  """Endless shuffled batches of this process's share of a global batch (reshuffled each epoch)."""
  rows = _process_rows(global_batch_size)
  n = len(next(iter(arrays.values())))
  indices = grain.MapDataset.range(n).shuffle(seed=seed).repeat(None)
  local = indices.batch(global_batch_size, drop_remainder=True)
  local = local.map(lambda idx: {k: v[idx[rows]] for k, v in arrays.items()})
  return iter(local.to_iter_dataset())


def stream_iterator(source, transform, global_batch_size: int, seed: int, workers: int = 0,
                    threads: int = 8):
  """Endless shuffled batches of this process's share of a global batch, streamed from `source`
  (e.g. `data_source`): `transform(record, rng)` turns each record into arrays (decode, random
  crop; `rng` a numpy Generator of its own for each row of the global batch, seeded by the seed
  and the batch's position: a resumed run crops as an uninterrupted one, and each process's rows
  draw as they would in one process). Records are read by `threads` threads, in `workers`
  processes (0: this one). Only the batches in flight are in memory."""
  rows = _process_rows(global_batch_size)

  def make_batch(indices, rng):
    batch_seed = int(rng.integers(2 ** 63))  # grain reseeds `rng` for each batch
    examples = [transform(source[int(i)], np.random.default_rng([batch_seed, row]))
                for row, i in zip(range(global_batch_size)[rows], indices[rows])]
    return {key: np.stack([e[key] for e in examples]) for key in examples[0]}

  batches = (grain.MapDataset.range(len(source)).shuffle(seed=seed).repeat(None)
             .batch(global_batch_size, drop_remainder=True).random_map(make_batch, seed=seed))
  # Each element is a whole batch: `threads` batches are made at once, as many wait ready.
  local = batches.to_iter_dataset(grain.ReadOptions(num_threads=threads,
                                                    prefetch_buffer_size=threads))
  if workers:
    # grain's worker processes read absl flags, which only an absl app parses (grain issue
    # #1355): their defaults are what we want.
    if not flags.FLAGS.is_parsed():
      flags.FLAGS.mark_as_parsed()
    local = local.mp_prefetch(grain.MultiprocessingOptions(num_workers=workers))
  return iter(local)


def eval_batches(arrays: dict[str, np.ndarray], global_batch_size: int, limit: int | None = None):
  """Yields this process's share of ordered global batches; the last is padded, `mask` marks
  real rows."""
  rows = _process_rows(global_batch_size)
  n = len(next(iter(arrays.values())))
  n = min(n, limit) if limit else n
  for start in range(0, n, global_batch_size):
    idx = np.arange(start, start + global_batch_size)
    mask = idx < n
    idx = np.where(mask, idx, 0)[rows]
    batch = {k: v[idx] for k, v in arrays.items()}
    batch["mask"] = mask[rows].astype(np.float32)
    yield batch


def map_batches(fn, arrays: dict[str, np.ndarray], batch_size: int):
  """`fn(batch)` (jitted, static shapes) over every row of `arrays` in padded batches of
  `batch_size`: its outputs as host arrays, concatenated along rows, padding rows dropped.
  Fewer rows than `batch_size` make one batch of just those rows (one file is not padded to 50)."""
  batch_size = min(batch_size, len(next(iter(arrays.values()))))
  outputs = []
  for batch in eval_batches(arrays, batch_size):
    real = batch.pop("mask") > 0
    outputs.append(jax.tree.map(lambda x: np.asarray(x)[real], jax.device_get(fn(batch))))
  return jax.tree.map(lambda *rows: np.concatenate(rows), *outputs)
