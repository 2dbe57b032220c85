"""The one training loop every stage of every domain runs, and restoring a stage for inference.

A stage (`regen_jax.stages.base.Stage`) owns data, model and evaluation. The loop owns the rest:
validating the config, the workdir (its lock and config.json), mesh and sharding, optimizer,
jit, checkpoints and resume, the NaN guard, SIGTERM, out of memory, metrics and progress.
"""

import collections
import contextlib
import functools
import json
import os
import signal
import threading
from typing import Any, NamedTuple

import jax
import numpy as np

from regen_jax.core import checkpoint, memory, optimizer, sharding
from regen_jax.core import config as config_lib
from regen_jax.core import state as state_lib
from regen_jax.core import workdir as workdir_lib
from regen_jax.core.metrics_writer import MetricsWriter
from regen_jax.data import pipeline
from regen_jax.errors import UserError
from regen_jax.stages import base as stage_lib

# Wait on results at least this often: with several (simulated) CPU devices on few cores, a
# loop that dispatches many collective steps without waiting deadlocks (docs/testing.md).
SYNC_EVERY = 16


class TrainingDiverged(UserError):
  pass


def _abstract_state(stage, tx, config):
  """(shapes of the train state, the function that initialises it from a key and a batch)."""
  def init(rng, batch):
    params, model_state = stage.init(rng, batch)
    return state_lib.create(params, model_state, tx, ema=config.ema_decay > 0)
  return jax.eval_shape(init, jax.random.key(0), stage.example_batch(config.batch_size)), init


def _jitted_step(stage, phase, tx, config, out_shardings=None):
  """The jitted train step of one loss phase (see `Stage.phase`), its state buffers donated."""
  loss = stage.loss if phase is None else functools.partial(stage.loss, phase=phase)
  return jax.jit(functools.partial(state_lib.train_step, loss_fn=loss, tx=tx,
                                   ema_decay=config.ema_decay),
                 donate_argnums=(0,), out_shardings=out_shardings)


def training_flops(config) -> dict[str, float]:
  """Floating-point operations of training `config` for its num_steps, by XLA's HLO cost
  analysis of each loss phase's train step (forward, backward and optimizer update, before
  compilation; a loop body such as a `lax.scan` counts once). Builds the stage, so a stage that
  loads a trained stage 1 needs it in place. {"per_step": mean, "total": sum over the steps}."""
  stage = stage_lib.build(config)
  tx = optimizer.make(config)
  abstract, _ = _abstract_state(stage, tx, config)
  batch = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype),
                       stage.example_batch(config.batch_size))
  phases = collections.Counter(stage.phase(step) for step in range(config.num_steps))
  total = sum(count * _jitted_step(stage, phase, tx, config).lower(
      abstract, batch, jax.random.key(0)).cost_analysis()["flops"]
      for phase, count in phases.items())
  return {"per_step": total / max(config.num_steps, 1), "total": float(total)}


def _meta(stage) -> dict:
  return {"stage": stage.config.stage, "format": checkpoint.FORMAT,
          "trained_against": stage.trained_against()}


def _check_meta(meta: dict, stage, workdir: str):
  """Refuses a checkpoint of an older format, or one trained against other inputs (another
  stage 1, other rule settings) than the configured ones: one line, before its arrays are read."""
  if meta.get("format") != checkpoint.FORMAT:
    raise UserError(f"the checkpoints in {workdir} were written by an older regen_jax (format "
                    f"{meta.get('format', 1)}; this version reads {checkpoint.FORMAT}): retrain")
  saved = config_lib.flatten(meta.get("trained_against", {}))
  given = config_lib.flatten(stage.trained_against())
  differing = [f"{key}: checkpoint {saved.get(key)!r}, configured {given.get(key)!r}"
               for key in sorted(set(saved) | set(given))
               if config_lib.comparable(saved.get(key)) != config_lib.comparable(given.get(key))]
  if differing:
    raise UserError(f"the checkpoint in {workdir} was trained against other inputs than this "
                    f"config gives it ({'; '.join(differing[:4])}): configure what it was "
                    f"trained with (e.g. --config.stage1.workdir), or retrain")


# ---------------------------------------------------------------- training


class _Sigterm:
  """SIGTERM during training, installed by `train` alone and restored when it ends. Before the
  first step there is nothing new to save: the process ends at once. Once stepping, SIGTERM is a
  flag the loop polls (it saves and exits); a second one ends the process at once. With
  jax.distributed, JAX's own preemption notifier handles it instead."""

  def __init__(self):
    self.event = threading.Event()
    self.stepping = False
    self._previous = None

  def __enter__(self):
    if jax.process_count() == 1 and threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    return self

  def _handle(self, signum, frame):
    del frame
    if not self.stepping or self.event.is_set():
      signal.signal(signum, signal.SIG_DFL)
      os.kill(os.getpid(), signum)
    self.event.set()

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)


def _check_finite(state, step: int, mngr):
  bad = int(state.first_nonfinite_step)
  if bad >= 0:
    mngr.wait_until_finished()  # the pending save of a finite state completes first
    newest = mngr.latest_step()
    saved = f"the newest checkpoint is step {newest}" if newest is not None else "none was saved"
    raise TrainingDiverged(f"loss or gradients became NaN/Inf at step {bad}; training stopped at "
                           f"step {step}; {saved} (none after step {bad} is written)")


def _compiled(jitted, args, what: str, advice: str):
  """`jitted` compiled for `args`, refused in one line if it cannot fit in memory."""
  try:
    compiled = jitted.lower(*args).compile()
  except Exception as e:
    if memory.is_out_of_memory(e):
      raise memory.out_of_memory_error(e, advice) from None
    raise
  memory.check(compiled, what, advice)
  return compiled


class _Run(NamedTuple):
  """What one training run's steps share."""
  stage: Any
  config: Any
  mesh: Any
  tx: Any
  state_shardings: Any


def _initial_state(run: _Run, workdir: str, train_iter):
  """A fresh state, or the workdir's newest checkpoint (and the iterator moved to its position)."""
  stage, config = run.stage, run.config
  abstract, init_state = _abstract_state(stage, run.tx, config)
  if not checkpoint.steps(workdir):
    # Compiled (and its memory checked) before any batch is read.
    batch_sharding = sharding.batch_sharding(run.mesh)
    batch = {k: jax.ShapeDtypeStruct(np.shape(v), v.dtype, sharding=batch_sharding)
             for k, v in stage.example_batch(config.batch_size).items()}
    key = jax.random.key(config.seed)
    init = _compiled(jax.jit(init_state, out_shardings=run.state_shardings), (key, batch),
                     "initialising the model", _advice(config))
    _write_config(workdir, config)
    # Data-dependent initialisation (e.g. k-means codebooks) sees the first training batch;
    # the iterator is put back before it (no second reader, no second pool of workers).
    start = train_iter.get_state()
    first = next(train_iter)
    train_iter.set_state(start)
    return init(key, sharding.global_batch(run.mesh, first))
  workdir_lib.check_config(workdir, config, stage.runtime_keys)
  placed = checkpoint_targets(abstract, run.state_shardings)
  check = lambda meta: _check_meta(meta, stage, workdir)
  step, state, data_state, _ = checkpoint.restore_state(workdir, placed, quarantine=True,
                                                        check_meta=check)
  _write_config(workdir, config)  # the run-time keys (num_steps, …) as given now
  train_iter.set_state(data_state)
  print(f"resumed from step {step} in {workdir}", flush=True)
  return state


def _write_config(workdir: str, config):
  if jax.process_index() == 0:
    workdir_lib.write_config(workdir, config)


def checkpoint_targets(abstract, shardings):
  """Shape structs of `abstract` placed with `shardings`: restores onto *this* run's devices."""
  return jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s),
                      abstract, shardings)


def _advice(config) -> str:
  return (f"lower batch_size (now {config.batch_size}), shard parameters over more devices "
          f"(sharding.fsdp), or use a device with more memory")


def evaluate(stage, config, mesh, params, model_state, eval_fn) -> dict:
  """Sums `stage.eval_metrics` over the evaluation split and lets the stage summarise them."""
  sums = None
  for local in pipeline.eval_batches(stage.eval_arrays, config.eval_batch_size,
                                     config.num_eval_examples):
    out = jax.device_get(eval_fn(params, model_state, sharding.global_batch(mesh, local)))
    sums = out if sums is None else jax.tree.map(np.add, sums, out)
  return stage.summarize(sums)


def train(config, workdir: str):
  """Trains (or resumes) `config`'s stage in `workdir`; returns the final train state."""
  config_lib.validate(config)
  stage = stage_lib.build(config, workdir)  # stage-specific checks; stage 1 is only read
  workdir_lib.check_writable(workdir)
  mesh = sharding.make_mesh(config.sharding.fsdp)
  for name in ("batch_size", "eval_batch_size"):
    if config[name] % jax.device_count():
      raise UserError(f"{name}={config[name]} is not divisible by {jax.device_count()} devices")
  lock = workdir_lib.TrainLock(workdir) if jax.process_index() == 0 else contextlib.nullcontext()
  with lock, _Sigterm() as sigterm:
    try:
      return _train(stage, config, workdir, mesh, sigterm)
    except Exception as e:
      if memory.is_out_of_memory(e):
        raise memory.out_of_memory_error(e, _advice(config)) from None
      raise


def _train(stage, config, workdir: str, mesh, sigterm: _Sigterm):
  tx = optimizer.make(config)
  abstract, _ = _abstract_state(stage, tx, config)
  run = _Run(stage, config, mesh, tx,
             sharding.tree_shardings(abstract, mesh, config.sharding.rules))
  train_iter = stage.train_batches(config.batch_size, config.seed)
  state = _initial_state(run, workdir, train_iter)
  mngr = checkpoint.manager(workdir, config.checkpoint_every, config.keep_checkpoints)
  writer = None
  try:
    writer = MetricsWriter(workdir, config.num_steps)
    sigterm.stepping = True
    return _steps(run, state, train_iter, mngr, writer, sigterm.event)
  finally:
    mngr.wait_until_finished()  # a save in flight completes, whatever ended the run
    mngr.close()
    if writer:
      writer.close()


def _steps(run: _Run, state, train_iter, mngr, writer, stop):
  stage, config, mesh = run.stage, run.config, run.mesh
  replicated = sharding.replicated(mesh)
  rng = jax.random.key(config.seed + 1)
  batches = sharding.prefetch(((batch, train_iter.get_state()) for batch in train_iter), mesh,
                              config.prefetch)
  step_fns = {}

  def step_fn(step: int, batch):
    """The train step of the stage's loss phase at `step`, compiled once per phase."""
    phase = stage.phase(step)
    if phase not in step_fns:
      jitted = _jitted_step(stage, phase, run.tx, config, (run.state_shardings, replicated))
      step_fns[phase] = _compiled(jitted, (state, batch, rng), "a training step",
                                  _advice(config))
    return step_fns[phase]

  eval_fn = jax.jit(stage.eval_metrics, out_shardings=replicated)
  step = int(state.step)
  writer.progress(step, {})
  while step < config.num_steps:
    batch, data_state = next(batches)
    state, metrics = step_fn(step, batch)(state, batch, rng)
    step += 1
    last = step == config.num_steps
    if step % SYNC_EVERY == 0 or step % config.log_every == 0 or last:
      metrics = jax.device_get(metrics)
      _check_finite(state, step, mngr)
    if step % config.log_every == 0 or last:
      writer.write(step, metrics)
      writer.progress(step, {k: metrics[k] for k in ("loss", *stage.progress_keys)})
    if step % config.eval_every == 0 or last:
      evaluated = evaluate(stage, config, mesh, state.eval_params(), state.model_state, eval_fn)
      evaluated.update(stage.on_eval(state.eval_params(), state.model_state, step))
      writer.write(step, evaluated, prefix="eval/")
      print(f"eval at step {step}: " + json.dumps({k: round(float(v), 4)
                                                   for k, v in evaluated.items()}), flush=True)
    preempted = stop.is_set() or mngr.reached_preemption(step)
    if preempted or last or mngr.should_save(step):
      _check_finite(state, step, mngr)
      checkpoint.save(mngr, step, state, data_state, _meta(stage))
    if preempted:
      print(f"SIGTERM: saved step {step}, exiting", flush=True)
      break
  return state


# ---------------------------------------------------------------- inference


class Restored(NamedTuple):
  stage: Any
  params: Any  # the EMA parameters when the stage kept them
  model_state: Any
  step: int


def restore_for_inference(config, workdir: str) -> Restored:
  """The parameters (no optimizer state) of the newest checkpoint of `config`'s stage in
  `workdir`, placed on this process's devices; a workdir of another stage or config, or one
  trained against other inputs, is refused in one line before any array is read."""
  config_lib.validate(config)
  stage_class = stage_lib.stage_class(config)
  workdir_lib.check_config(workdir, config, stage_class.runtime_keys)  # before stage 1 loads
  stage = stage_class(config, workdir)
  mesh = sharding.make_mesh(config.sharding.fsdp)
  params, model_state = jax.eval_shape(stage.init, jax.random.key(0), stage.example_batch(1))
  name = "ema_params" if config.ema_decay > 0 else "params"
  abstract = {name: params, "model_state": model_state}
  placed = checkpoint_targets(abstract, sharding.tree_shardings(abstract, mesh,
                                                                config.sharding.rules))
  step, items = checkpoint.restore_params(workdir, placed,
                                          check_meta=lambda m: _check_meta(m, stage, workdir))
  return Restored(stage, items[name], items.get("model_state", {}), step)


def evaluate_stage(config, workdir: str) -> dict:
  """Evaluation-split metrics of the newest checkpoint, plus the stage's full sample metrics."""
  stage, params, model_state, step = restore_for_inference(config, workdir)
  mesh = sharding.make_mesh(config.sharding.fsdp)
  metrics = evaluate(stage, config, mesh, params, model_state,
                     jax.jit(stage.eval_metrics, out_shardings=sharding.replicated(mesh)))
  metrics.update(stage.on_eval(params, model_state, step, full=True))
  return {"workdir": workdir, "step": step, "split": config.eval_split,
          **{k: float(v) for k, v in metrics.items()}}
