"""orbax checkpoints of a workdir: train state + input-iterator state + metadata, one step each."""

import os

import jax
import orbax.checkpoint as ocp

from regen_jax.errors import UserError


def directory(workdir: str) -> str:
  return os.path.join(os.path.abspath(workdir), "checkpoints")


def manager(workdir: str, save_every: int = 1, keep: int = 3, create: bool = True):
  options = ocp.CheckpointManagerOptions(save_interval_steps=save_every, max_to_keep=keep,
                                         create=create, enable_async_checkpointing=True)
  return ocp.CheckpointManager(directory(workdir), options=options)


def save(mngr, step: int, state, data_state: dict, meta: dict, force: bool = False) -> bool:
  args = ocp.args.Composite(state=ocp.args.StandardSave(state), data=ocp.args.JsonSave(data_state),
                            meta=ocp.args.JsonSave(meta))
  return mngr.save(step, args=args, force=force)


def abstract_like(tree, sharding):
  """Shapes and dtypes of `tree` placed with `sharding`: restores onto *this* run's devices."""
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), tree)


def _shapes(tree) -> dict[tuple[str, ...], tuple[int, ...]]:
  """{key path as plain names: shape} of a tree of arrays, shape structs or orbax metadata."""
  def name(key) -> str:
    return str(next((getattr(key, a) for a in ("key", "name", "idx") if hasattr(key, a)), key))
  leaves = jax.tree_util.tree_leaves_with_path(tree, is_leaf=lambda x: hasattr(x, "shape"))
  return {tuple(map(name, path)): tuple(leaf.shape) for path, leaf in leaves
          if hasattr(leaf, "shape")}


def _check_shapes(directory, step: int, abstract_state):
  """Refuses, before any array is read, a checkpoint whose arrays have other shapes than the
  model's (one written before a change to the model's layers, say)."""
  reader = ocp.CheckpointManager(directory, options=ocp.CheckpointManagerOptions(create=False),
                                 item_handlers={"state": ocp.StandardCheckpointHandler(),
                                                "data": ocp.JsonCheckpointHandler(),
                                                "meta": ocp.JsonCheckpointHandler()})
  stored = _shapes(reader.item_metadata(step)["state"])
  reader.close()
  expected = _shapes(abstract_state)
  differing = [f"{'/'.join(path)}: stored {stored[path]}, model {shape}"
               for path, shape in expected.items() if path in stored and stored[path] != shape]
  if differing:
    raise UserError(f"the checkpoint in {directory} was written by another version of this model "
                    f"(array shapes differ: {'; '.join(differing[:3])}"
                    f"{'; …' if len(differing) > 3 else ''}): retrain it, or use the code it was "
                    f"trained with")


def restore(mngr, step: int, abstract_state):
  """Returns (state, data_state, meta) saved at `step`."""
  _check_shapes(mngr.directory, step, abstract_state)
  args = ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state),
                            data=ocp.args.JsonRestore(), meta=ocp.args.JsonRestore())
  restored = mngr.restore(step, args=args)
  return restored.state, restored.data, restored.meta


def read_meta(workdir: str) -> tuple[int, dict]:
  """(step, metadata) of the latest checkpoint, without reading any array."""
  if not os.path.isdir(directory(workdir)):
    raise UserError(f"no checkpoint in {workdir}: train this stage first")
  mngr = manager(workdir, create=False)
  step = mngr.latest_step()
  if step is None:
    raise UserError(f"no checkpoint in {workdir}: train this stage first")
  meta = mngr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta
  mngr.close()
  return step, meta
