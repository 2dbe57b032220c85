"""orbax checkpoints of a workdir: the train state as separate items, the input iterator's state
and metadata, one directory per step.

Items of a step: `params`, `opt_state`, `progress` (step counter, NaN guard), `model_state` and
`ema_params` when the stage has them, `data` (the input iterator's state) and `meta` (JSON:
the stage, the checkpoint format, what the stage was trained against). Inference restores
`params` (or `ema_params`) and `model_state` alone.

Reading tolerates what can happen to a workdir: the newest step can be corrupt (restoring falls
back to the newest one that restores, says so in one line, and a training run moves the corrupt
one aside to `corrupt_checkpoints/`, never deleting it), and a step can vanish while it is read
(a training run on the same workdir keeping only the newest ones): then the newest is read again.
"""

import os
import time
from typing import Callable

import jax
import orbax.checkpoint as ocp

from regen_jax.core.state import TrainState
from regen_jax.errors import UserError

FORMAT = 2  # 1: the whole train state as one item (before the stage interface)
ARRAY_ITEMS = ("params", "opt_state", "progress", "model_state", "ema_params")
JSON_ITEMS = ("data", "meta")
CORRUPT_DIR = "corrupt_checkpoints"


def directory(workdir: str) -> str:
  return os.path.join(os.path.abspath(workdir), "checkpoints")


def manager(workdir: str, save_every: int = 1, keep: int = 3, create: bool = True):
  options = ocp.CheckpointManagerOptions(save_interval_steps=save_every, max_to_keep=keep,
                                         create=create, enable_async_checkpointing=True)
  return ocp.CheckpointManager(directory(workdir), options=options)


def _step_directory(workdir: str, step: int) -> str:
  return os.path.join(directory(workdir), str(step))


def _checkpointer():
  """Reads one step's directory alone (a manager would list, and stat, every step)."""
  handlers = {**{name: ocp.StandardCheckpointHandler() for name in ARRAY_ITEMS},
              **{name: ocp.JsonCheckpointHandler() for name in JSON_ITEMS}}
  return ocp.Checkpointer(ocp.CompositeCheckpointHandler(**handlers))


def state_items(state) -> dict:
  """The train state (arrays or shape structs) as checkpoint items; empty trees are left out."""
  items = {"params": state.params, "opt_state": state.opt_state,
           "progress": {"step": state.step, "first_nonfinite_step": state.first_nonfinite_step},
           "model_state": state.model_state, "ema_params": state.ema_params}
  return {name: tree for name, tree in items.items() if jax.tree.leaves(tree)}


def save(mngr, step: int, state, data_state: dict, meta: dict) -> bool:
  args = {name: ocp.args.StandardSave(tree) for name, tree in state_items(state).items()}
  return mngr.save(step, args=ocp.args.Composite(**args, data=ocp.args.JsonSave(data_state),
                                                 meta=ocp.args.JsonSave(meta)), force=True)


def _shapes(tree) -> dict[tuple[str, ...], tuple[int, ...]]:
  """{key path as plain names: shape} of a tree of arrays, shape structs or orbax metadata."""
  def name(key) -> str:
    return str(next((getattr(key, a) for a in ("key", "name", "idx") if hasattr(key, a)), key))
  leaves = jax.tree_util.tree_leaves_with_path(tree, is_leaf=lambda x: hasattr(x, "shape"))
  return {tuple(map(name, path)): tuple(leaf.shape) for path, leaf in leaves
          if hasattr(leaf, "shape")}


def _check_shapes(stored_items, workdir: str, abstract_items: dict):
  """Refuses, before any array is read, a checkpoint whose arrays have other shapes than the
  model's (one written before a change to the model's layers, say)."""
  differing = []
  for item, abstract in abstract_items.items():
    stored = _shapes(stored_items[item]) if stored_items.get(item) is not None else {}
    differing += [f"{item}/{'/'.join(path)}: stored {stored[path]}, model {shape}"
                  for path, shape in _shapes(abstract).items()
                  if path in stored and stored[path] != shape]
  if differing:
    raise UserError(f"the checkpoint in {directory(workdir)} was written by another version of "
                    f"this model (array shapes differ: {'; '.join(differing[:3])}"
                    f"{'; …' if len(differing) > 3 else ''}): retrain it, or use the code it was "
                    f"trained with")


def _restore_items(workdir: str, step: int, abstract_items: dict, check_meta: Callable,
                   json_items=JSON_ITEMS) -> dict:
  """The named items of `step`, arrays placed as their shape structs say, once `check_meta`
  accepted its metadata and the arrays' shapes are the model's."""
  path = _step_directory(workdir, step)
  checkpointer = _checkpointer()
  try:
    check_meta(checkpointer.restore(path, args=ocp.args.Composite(
        meta=ocp.args.JsonRestore())).meta)
    _check_shapes(checkpointer.metadata(path).item_metadata, workdir, abstract_items)
    args = {name: ocp.args.StandardRestore(tree) for name, tree in abstract_items.items()}
    args.update({name: ocp.args.JsonRestore() for name in json_items})
    restored = checkpointer.restore(path, args=ocp.args.Composite(**args))
  finally:
    checkpointer.close()
  return {name: restored[name] for name in (*abstract_items, *json_items)}


def steps(workdir: str) -> list[int]:
  """Complete checkpoint steps, oldest first: orbax writes a step under a temporary name and
  renames it when complete, so a directory named by its step is whole."""
  try:
    names = os.listdir(directory(workdir))
  except FileNotFoundError:
    return []
  return sorted(int(name) for name in names
                if name.isdigit() and os.path.isdir(_step_directory(workdir, int(name))))


def _quarantine(workdir: str, step: int) -> str:
  """Moves a corrupt step's directory out of the checkpoints, under a name no later run reuses."""
  name = f"{step}-{time.strftime('%Y%m%d-%H%M%S')}"
  target = os.path.join(os.path.abspath(workdir), CORRUPT_DIR, name)
  os.makedirs(os.path.dirname(target), exist_ok=True)
  os.replace(_step_directory(workdir, step), target)
  return target


def restore_newest(workdir: str, restore_step: Callable[[int], dict], quarantine: bool):
  """(step, restore_step(step)) of the newest checkpoint that restores.

  A step that fails to restore while an older one succeeds is corrupt: it is reported in one
  line (and with `quarantine`, moved to corrupt_checkpoints/). A step that vanished while it was
  read (another process keeps only the newest ones) is not: the listing is read again. When no
  step restores, the newest one's failure is the error (nothing is moved: the fault may be the
  code's, not the checkpoints')."""
  failed, tried = [], set()
  while True:
    candidates = [s for s in reversed(steps(workdir)) if s not in tried]
    if not candidates:
      break
    step = candidates[0]
    tried.add(step)
    try:
      restored = restore_step(step)
    except UserError:
      raise
    except Exception as e:  # orbax and tensorstore raise many types for a damaged step
      if step in steps(workdir):
        failed.append((step, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"))
      else:
        tried.discard(step)  # deleted under us: the listing moved on
      continue
    for bad, reason in failed:
      where = f"moved to {_quarantine(workdir, bad)}" if quarantine else "left in place"
      print(f"checkpoint of step {bad} in {workdir} does not restore ({reason[:200]}); "
            f"{where}; using step {step}", flush=True)
    return step, restored
  if failed:
    bad, reason = failed[0]
    raise UserError(f"no checkpoint in {workdir} restores; the newest (step {bad}) fails with "
                    f"{reason[:300]}")
  raise UserError(f"no checkpoint in {workdir}: train this stage first")


def restore_state(workdir: str, abstract_state, quarantine: bool, check_meta: Callable):
  """(step, train state, input iterator state, meta) of the newest checkpoint that restores,
  its arrays placed as `abstract_state`'s shape structs say."""
  abstract_items = state_items(abstract_state)

  def restore(step):
    items = _restore_items(workdir, step, abstract_items, check_meta)
    get = lambda name, empty: items.get(name, empty)
    state = TrainState(step=items["progress"]["step"], params=items["params"],
                       model_state=get("model_state", {}), opt_state=get("opt_state", None),
                       ema_params=get("ema_params", None),
                       first_nonfinite_step=items["progress"]["first_nonfinite_step"])
    return state, items["data"], items["meta"]

  step, (state, data, meta) = restore_newest(workdir, restore, quarantine)
  return step, state, data, meta


def restore_params(workdir: str, abstract_items: dict, check_meta: Callable) -> tuple[int, dict]:
  """(step, items) of the newest checkpoint, reading only `abstract_items` (e.g. {'params': ...,
  'model_state': ...}): no optimizer state."""
  abstract_items = {k: v for k, v in abstract_items.items() if jax.tree.leaves(v)}

  def restore(step):
    return _restore_items(workdir, step, abstract_items, check_meta, json_items=())

  return restore_newest(workdir, restore, quarantine=False)
