"""Device mesh and data-parallel placement.

The mesh has a `data` axis over every device of every host, and an `fsdp` axis of size 1 kept so
that parameter-sharding rules can be added without touching callers: batches are split over both
axes, parameters are replicated.
"""

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

BATCH_AXES = ("data", "fsdp")


def make_mesh() -> jax.sharding.Mesh:
  auto = jax.sharding.AxisType.Auto
  return jax.make_mesh((jax.device_count(), 1), BATCH_AXES, axis_types=(auto, auto))


def replicated(mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh) -> NamedSharding:
  return NamedSharding(mesh, P(BATCH_AXES))


def global_batch(mesh, local_batch: dict[str, np.ndarray]) -> dict[str, jax.Array]:
  """Assembles each process's rows into one batch sharded over all devices."""
  sharding = batch_sharding(mesh)
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v))
          for k, v in local_batch.items()}
