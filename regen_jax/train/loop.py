"""The one training loop every stage of every domain runs, plus restoring a stage for inference.

A stage is a *task* (see `regen_jax/tasks/base.py`): data, `init`, `loss`, evaluation. The loop
owns everything else: mesh and sharding, optimizer, jit, checkpoints and resume, NaN guard,
SIGTERM, metrics and progress.
"""

import collections
import functools
import importlib
import json
import os
import signal
import threading
from typing import Any, NamedTuple

import jax
import ml_collections
import numpy as np

from regen_jax.data import pipeline
from regen_jax.errors import UserError
from regen_jax.train import checkpoint, optimizer, sharding
from regen_jax.train import state as state_lib
from regen_jax.train.metrics_writer import MetricsWriter

# Wait on results at least this often: with several (simulated) CPU devices on few cores, a
# loop that dispatches many collective steps without waiting deadlocks (DESIGN.md §5).
SYNC_EVERY = 16


class TrainingDiverged(UserError):
  pass


def build_task(config, workdir: str | None = None):
  """Instantiates `config.task` (a module under regen_jax.tasks with a `Task` class)."""
  module = importlib.import_module(f"regen_jax.tasks.{config.task}")
  return module.Task(config, workdir)


def _abstract_state(task, tx, config):
  """(shapes of the train state, the function that initialises it from a key and a batch)."""
  def init(rng, batch):
    params, model_state = task.init(rng, batch)
    return state_lib.create(params, model_state, tx, ema=config.ema_decay > 0)
  return jax.eval_shape(init, jax.random.key(0), task.example_batch(config.batch_size)), init


def _jitted_step(task, phase, tx, config, out_shardings=None):
  """The jitted train step of one loss phase (see `Task.phase`), its state buffers donated."""
  loss = task.loss if phase is None else functools.partial(task.loss, phase=phase)
  return jax.jit(functools.partial(state_lib.train_step, loss_fn=loss, tx=tx,
                                   ema_decay=config.ema_decay),
                 donate_argnums=(0,), out_shardings=out_shardings)


def training_flops(config, workdir: str | None = None) -> dict[str, float]:
  """Floating-point operations of training `config` for its num_steps, by XLA's HLO cost
  analysis of each loss phase's train step (forward, backward and optimizer update, before
  compilation; a loop body such as a `lax.scan` counts once). Builds the task, so a stage that
  loads a trained stage 1 needs it in place. {"per_step": mean, "total": sum over the steps}."""
  task = build_task(config, workdir)
  tx = optimizer.make(config)
  abstract, _ = _abstract_state(task, tx, config)
  batch = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype),
                       task.example_batch(config.batch_size))
  phases = collections.Counter(task.phase(step) for step in range(config.num_steps))
  total = sum(count * _jitted_step(task, phase, tx, config).lower(
      abstract, batch, jax.random.key(0)).cost_analysis()["flops"]
      for phase, count in phases.items())
  return {"per_step": total / max(config.num_steps, 1), "total": float(total)}


def saved_config(workdir: str, what: str = "this stage") -> ml_collections.ConfigDict:
  """The config a workdir was trained with (its config.json)."""
  path = os.path.join(workdir or "", "config.json")
  if not os.path.exists(path):
    raise UserError(f"no trained model in {workdir!r} (no config.json): train {what} first")
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


class Restored(NamedTuple):
  task: Any
  params: Any  # the EMA parameters when the stage kept them
  model_state: Any
  step: int


def restore_stage(workdir: str, what: str = "this stage") -> Restored:
  """The stage trained in `workdir`, built from its own config."""
  return restore_for_inference(saved_config(workdir, what), workdir)


def restore_for_inference(config, workdir: str) -> Restored:
  """The latest checkpoint of a trained stage, placed on this run's devices."""
  task = build_task(config, workdir)
  abstract, _ = _abstract_state(task, optimizer.make(config), config)
  step, meta = checkpoint.read_meta(workdir)
  task.check_meta(meta, workdir)
  mngr = checkpoint.manager(workdir, create=False)
  replicated = sharding.replicated(sharding.make_mesh())
  state, _, _ = checkpoint.restore(mngr, step, checkpoint.abstract_like(abstract, replicated))
  mngr.close()
  return Restored(task, state.eval_params(), state.model_state, step)


def _stop_on_sigterm() -> threading.Event:
  """Turns SIGTERM into a flag the loop polls (after jax.distributed, JAX's own notifier does)."""
  event = threading.Event()
  if jax.process_count() == 1:
    signal.signal(signal.SIGTERM, lambda *_: event.set())
  return event


def _write_config(config, workdir: str):
  os.makedirs(workdir, exist_ok=True)
  if jax.process_index() == 0:
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(config.to_json_best_effort(indent=2, sort_keys=True))


def evaluate(task, config, mesh, params, model_state, eval_fn) -> dict:
  """Sums `task.eval_metrics` over the evaluation split and lets the task summarise them."""
  sums = None
  for local in pipeline.eval_batches(task.eval_arrays, config.eval_batch_size,
                                     config.num_eval_examples):
    out = jax.device_get(eval_fn(params, model_state, sharding.global_batch(mesh, local)))
    sums = out if sums is None else jax.tree.map(np.add, sums, out)
  return task.summarize(sums)


def _check_finite(state, step: int):
  bad = int(state.first_nonfinite_step)
  if bad >= 0:
    raise TrainingDiverged(f"loss or gradients became NaN/Inf at step {bad}; training stopped at "
                           f"step {step} and no checkpoint after step {bad} was written")


def _initial_state(task, config, workdir, mesh, tx, mngr, train_iter):
  """A fresh state, or the workdir's latest checkpoint (and the iterator moved to its position)."""
  abstract, init_state = _abstract_state(task, tx, config)
  replicated = sharding.replicated(mesh)
  start = mngr.latest_step()
  if start is None:
    _write_config(config, workdir)
    # Data-dependent initialisation (e.g. k-means codebooks) sees the first training batch.
    first = next(pipeline.train_iterator(task.train_arrays, config.batch_size, config.seed))
    return jax.jit(init_state, out_shardings=replicated)(jax.random.key(config.seed),
                                                         sharding.global_batch(mesh, first))
  state, data_state, meta = checkpoint.restore(mngr, start,
                                               checkpoint.abstract_like(abstract, replicated))
  task.check_meta(meta, workdir)
  train_iter.set_state(data_state)
  print(f"resumed from step {start} in {workdir}", flush=True)
  return state


def train(config, workdir: str):
  task = build_task(config, workdir)  # validates stage-1 inputs before anything is written
  mesh = sharding.make_mesh()
  for name in ("batch_size", "eval_batch_size"):
    if config[name] % jax.device_count():
      raise UserError(f"{name}={config[name]} is not divisible by {jax.device_count()} devices")
  tx = optimizer.make(config)
  train_iter = pipeline.train_iterator(task.train_arrays, config.batch_size, config.seed)
  mngr = checkpoint.manager(workdir, config.checkpoint_every, config.keep_checkpoints)
  state = _initial_state(task, config, workdir, mesh, tx, mngr, train_iter)
  replicated = sharding.replicated(mesh)
  step_fns = {}

  def step_fn(step: int):
    """The jitted step of the task's loss phase at `step` (compiled once per phase)."""
    phase = task.phase(step)
    if phase not in step_fns:
      step_fns[phase] = _jitted_step(task, phase, tx, config, (replicated, replicated))
    return step_fns[phase]

  eval_fn = jax.jit(task.eval_metrics, out_shardings=replicated)
  rng = jax.random.key(config.seed + 1)
  writer = MetricsWriter(workdir, config.num_steps)
  stop = _stop_on_sigterm()
  step = int(state.step)
  writer.progress(step, {})
  while step < config.num_steps:
    state, metrics = step_fn(step)(state, sharding.global_batch(mesh, next(train_iter)), rng)
    step += 1
    last = step == config.num_steps
    if step % SYNC_EVERY == 0 or step % config.log_every == 0 or last:
      metrics = jax.device_get(metrics)
      _check_finite(state, step)
    if step % config.log_every == 0 or last:
      writer.write(step, metrics)
      writer.progress(step, {k: metrics[k] for k in ("loss", *task.progress_keys)})
    if step % config.eval_every == 0 or last:
      evaluated = evaluate(task, config, mesh, state.eval_params(), state.model_state, eval_fn)
      evaluated.update(task.on_eval(state.eval_params(), state.model_state, step))
      writer.write(step, evaluated, prefix="eval/")
      print(f"eval at step {step}: " + json.dumps({k: round(float(v), 4)
                                                   for k, v in evaluated.items()}), flush=True)
    preempted = stop.is_set() or mngr.reached_preemption(step)
    if preempted or last or mngr.should_save(step):
      _check_finite(state, step)
      checkpoint.save(mngr, step, state, train_iter.get_state(), task.meta(), force=True)
    if preempted:
      print(f"SIGTERM: saved step {step}, exiting", flush=True)
      break
  mngr.wait_until_finished()
  mngr.close()
  writer.close()
  return state


def evaluate_stage(config, workdir: str) -> dict:
  """Evaluation-split metrics of the latest checkpoint, plus the task's full sample metrics."""
  task, params, model_state, step = restore_for_inference(config, workdir)
  metrics = evaluate(task, config, sharding.make_mesh(), params, model_state,
                     jax.jit(task.eval_metrics))
  metrics.update(task.on_eval(params, model_state, step, full=True))
  return {"workdir": workdir, "step": step, "split": config.eval_split,
          **{k: float(v) for k, v in metrics.items()}}
