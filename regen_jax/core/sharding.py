"""The device mesh, where arrays live on it, and batches placed on it ahead of the step.

The mesh has two axes over every device of every host: `data` and `fsdp`
(`config.sharding.fsdp` devices). Batches are split over both. Arrays of the train state are
placed by rules, as big_vision does: the first regular expression that matches an array's path
in the state (e.g. `params/decoder/Conv_0/kernel`, `opt_state/1/0/mu/...`) picks
  "fsdp"       split the array's largest dimension that the fsdp axis divides, so each device
               holds 1/fsdp of it (parameters, their Adam moments and EMA: ZeRO-3 / FSDP);
               an array no dimension of which it divides stays whole;
  "replicate"  a full copy on every device.
jit's input and output shardings then make XLA gather parameters where a layer needs them and
reduce-scatter their gradients. With fsdp = 1 every array is replicated (pure data parallelism).
"""

import collections
import re
from typing import Iterator

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from regen_jax.errors import UserError

BATCH_AXES = ("data", "fsdp")
RULES = ("fsdp", "replicate")


def make_mesh(fsdp: int = 1) -> jax.sharding.Mesh:
  count = jax.device_count()
  if count % fsdp:
    raise UserError(f"sharding.fsdp={fsdp} does not divide the {count} devices")
  auto = jax.sharding.AxisType.Auto
  return jax.make_mesh((count // fsdp, fsdp), BATCH_AXES, axis_types=(auto, auto))


def replicated(mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh) -> NamedSharding:
  return NamedSharding(mesh, P(BATCH_AXES))


def check_rules(rules) -> list[tuple[re.Pattern, str]]:
  """`config.sharding.rules` compiled, or one UserError naming the bad entry."""
  compiled = []
  for entry in rules:
    if not (isinstance(entry, (tuple, list)) and len(entry) == 2 and entry[1] in RULES):
      raise UserError(f"sharding.rules entries are (regex, one of {', '.join(RULES)}), got "
                      f"{entry!r}")
    try:
      compiled.append((re.compile(entry[0]), entry[1]))
    except (re.error, TypeError) as e:
      raise UserError(f"sharding.rules: {entry[0]!r} is not a regular expression ({e})") from None
  return compiled


def _path(key_path) -> str:
  names = (getattr(k, "name", getattr(k, "key", getattr(k, "idx", k))) for k in key_path)
  return "/".join(str(n) for n in names)


def fsdp_spec(shape: tuple[int, ...], size: int) -> P:
  """The "fsdp" rule: the largest dimension that `size` divides split over the fsdp axis (the
  first of equals), or no split."""
  dims = [d for d in range(len(shape)) if shape[d] % size == 0]
  if size == 1 or not dims:
    return P()
  spec = [None] * len(shape)
  spec[max(dims, key=lambda d: shape[d])] = "fsdp"
  return P(*spec)


def tree_shardings(tree, mesh, rules):
  """A NamedSharding for each array (or shape struct) of `tree`, by the first matching rule
  (arrays no rule matches are replicated)."""
  compiled = check_rules(rules)

  def place(key_path, leaf):
    path = _path(key_path)
    rule = next((r for pattern, r in compiled if pattern.fullmatch(path)), "replicate")
    if rule == "replicate":
      return replicated(mesh)
    return NamedSharding(mesh, fsdp_spec(tuple(leaf.shape), mesh.shape["fsdp"]))

  return jax.tree_util.tree_map_with_path(place, tree)


def global_batch(mesh, local_batch: dict[str, np.ndarray]) -> dict[str, jax.Array]:
  """Assembles each process's rows into one batch sharded over all devices."""
  sharding = batch_sharding(mesh)
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v))
          for k, v in local_batch.items()}


def prefetch(batches: Iterator[tuple[dict, object]], mesh, size: int):
  """Yields (device batch, tag) for each (host batch, tag) of `batches`, keeping `size` batches
  on the devices: each one's transfer is dispatched while earlier steps run. `tag` travels with
  its batch (the input iterator's state after it, for checkpoints)."""
  queue = collections.deque()
  for local, tag in batches:
    queue.append((global_batch(mesh, local), tag))
    if len(queue) >= size:
      yield queue.popleft()
