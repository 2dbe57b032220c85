"""The stage interface: what the one training loop (`regen_jax.core.loop`) trains and restores.

A stage is built from its config (`config.stage` = "module:Class") and owns its data, model and
evaluation; the loop owns everything else (mesh, optimizer, jit, checkpoints, resume, NaN guard,
SIGTERM, metrics). Every method the loop calls is abstract here or has a default, so a stage
that lacks one fails when it is built, not mid-run.
"""

import abc
import dataclasses
import importlib
import os
from typing import Any, Callable

import numpy as np

from regen_jax.data import pipeline
from regen_jax.errors import UserError

Params = Any  # a pytree of arrays
Batch = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class SampleFlag:
  """A flag of the `sample` command that a stage takes (e.g. --text): the CLI defines the union
  of every registered stage's flags and passes a stage only its own."""
  name: str
  kind: type  # str, int or float
  help: str


@dataclasses.dataclass(frozen=True)
class Exportable:
  """What `regen_jax export` serializes: `fn(params, **inputs) -> {name: array}`, pure and
  jittable; `params`, every array it reads; `inputs`, arrays of the exact shapes and dtypes it
  takes; `description`: JSON with `inputs` and `outputs` (name -> meaning), `ranges` (name ->
  [low, high) of integer inputs) and the domain's settings."""
  fn: Callable
  params: Params
  inputs: dict[str, np.ndarray]
  description: dict


class Stage(abc.ABC):
  """One trainable stage.

  Data: `train_arrays` / `eval_arrays` (dicts of host arrays, one row per example) and
  `example_batch(n)`. Model: `init(rng, batch) -> (params, model_state)` (model_state: arrays
  that are not trained by gradients, e.g. a codebook's EMA statistics), `loss(params,
  model_state, batch, rng, step) -> (loss, (metrics, model_state))`, and the evaluation sums
  `eval_metrics(params, model_state, batch)` (over the rows where batch['mask'] is 1) that
  `summarize(sums)` turns into metrics.
  """
  progress_keys: tuple[str, ...] = ()  # metrics on the progress line besides the loss
  sample_flags: tuple[SampleFlag, ...] = ()  # the `sample` command's flags it takes
  sample_suffix: str = ".png"  # what `sample --output` must end with
  runtime_keys: tuple[str, ...] = ()  # its config keys that may change between runs of a workdir

  def __init__(self, config, workdir: str | None):
    self.config, self.workdir = config, workdir

  # ---- data
  @property
  @abc.abstractmethod
  def train_arrays(self) -> dict[str, np.ndarray]:
    """Every training example, as host arrays."""

  @property
  @abc.abstractmethod
  def eval_arrays(self) -> dict[str, np.ndarray]:
    """Every example of `config.eval_split`."""

  def train_batches(self, global_batch_size: int, seed: int):
    """Endless shuffled training batches (this process's share of each global batch), an
    iterator with a checkpointable `get_state` / `set_state`: from `train_arrays` held in
    memory; a stage that streams its data (`pipeline.stream_iterator`) overrides this."""
    return pipeline.train_iterator(self.train_arrays, global_batch_size, seed)

  @abc.abstractmethod
  def example_batch(self, batch_size: int) -> Batch:
    """Arrays of a batch's shapes and dtypes (for shapes and compilation, not data)."""

  # ---- model
  @abc.abstractmethod
  def init(self, rng, batch: Batch) -> tuple[Params, Params]:
    """(params, model_state) from a key and the first training batch."""

  @abc.abstractmethod
  def loss(self, params, model_state, batch: Batch, rng, step):
    """(loss, (metrics, model_state)) of one training batch."""

  @abc.abstractmethod
  def eval_metrics(self, params, model_state, batch: Batch) -> dict:
    """Sums over the batch's real rows (`batch['mask']`)."""

  @abc.abstractmethod
  def summarize(self, sums: dict) -> dict:
    """Metrics from the sums of every evaluation batch."""

  # ---- hooks with defaults
  def phase(self, step: int):
    """None, or a hashable the loop passes to `loss(..., phase=...)`, compiling one step per value
    (a loss that changes at a fixed step, e.g. a GAN's warm-up without the discriminators: a
    Python switch keeps each compiled step lean, where `lax.cond` ran the GAN ~7x slower)."""
    del step
    return None

  def on_eval(self, params, model_state, step: int, full: bool = False) -> dict:
    """Metrics that need more than sums (samples, files); `full` in `evaluate`, else in training."""
    del params, model_state, step, full
    return {}

  def trained_against(self) -> dict:
    """JSON of what the stage's inputs are (a stage 1's fingerprint, a rule's settings): every
    checkpoint records it, and a workdir is refused when the configured stage differs."""
    return {}

  def sample(self, params, model_state, path: str, **inputs) -> list[str]:
    """The `sample` command: writes `path` (and companions), returns the files written."""
    del params, model_state, path, inputs
    raise UserError(f"stage {type(self).__name__} has nothing to sample")

  def exportable(self, params, model_state) -> Exportable:
    """The sampler `regen_jax export` writes."""
    del params, model_state
    raise UserError(f"stage {type(self).__name__} cannot be exported: export a stage that "
                    f"samples Y from X (a class -> image prior, speech synthesis with a vocoder)")

  # ---- helpers
  def output_path(self, name: str) -> str:
    return os.path.join(self.workdir, "samples", name)


def import_class(path: str, base: type | tuple[type, ...]) -> type:
  """The class a config names as "package.module:Class", checked to be a `base`."""
  module_name, _, class_name = str(path).partition(":")
  try:
    cls = getattr(importlib.import_module(module_name), class_name)
  except (ImportError, AttributeError, ValueError):
    raise UserError(f"{path!r} names no class (expected 'package.module:Class')") from None
  if not (isinstance(cls, type) and issubclass(cls, base)):
    names = " or ".join(b.__name__ for b in (base if isinstance(base, tuple) else (base,)))
    raise UserError(f"{path!r} is not a {names}")
  return cls


def stage_class(config) -> type[Stage]:
  """The class `config.stage` names."""
  if "stage" not in config:
    raise UserError("the config names no stage (config.stage = 'package.module:Class')")
  return import_class(config.stage, Stage)


def build(config, workdir: str | None = None) -> Stage:
  """The stage `config.stage` names, built from `config`."""
  return stage_class(config)(config, workdir)
