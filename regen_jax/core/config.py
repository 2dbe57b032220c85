"""What every experiment config shares: the loop's defaults, the `:arg` syntax, loading a sibling
config file, validation, and which keys may change between runs of one workdir.

A config file under configs/ holds a stage's hyperparameters at full size and, in one block at
the end, its tiny `:test` variant (`TINY_LOOP` plus the stage's own tiny sizes).
"""

import importlib.util
import numbers
import os
import re

import ml_collections

from regen_jax.errors import UserError

COMPUTE_DTYPES = ("float32", "bfloat16", "float16")
SCHEDULES = ("cosine", "constant")

# The loop's settings of every `:test` variant: seconds on a CPU.
TINY_LOOP = {"batch_size": 16, "eval_batch_size": 64, "num_eval_examples": 128, "num_steps": 20,
             "log_every": 5, "eval_every": 10, "checkpoint_every": 10,
             "optimizer.warmup_steps": 2}

# Keys that may differ between the runs of one workdir (resuming, evaluating, sampling): how
# long and how often, what to evaluate on, where things are. Everything else defines the run.
# A stage adds its own (sampling settings, say) as `Stage.runtime_keys`; any key named
# `workdir` is one too (what a linked workdir holds is checked by fingerprint instead).
RUNTIME_KEYS = ("num_steps", "log_every", "eval_every", "checkpoint_every", "keep_checkpoints",
                "eval_split", "eval_batch_size", "num_eval_examples", "data_dir", "prefetch")


def parse_arg(arg: str | None, **defaults) -> ml_collections.ConfigDict:
  """'prior=maskgit,test' -> {prior: 'maskgit', test: True}; unknown names are an error."""
  values = dict(defaults, test=False)
  for item in filter(None, (arg or "").split(",")):
    key, _, value = item.partition("=")
    if key not in values:
      raise UserError(f"unknown config argument {key!r}; known: {', '.join(sorted(values))}")
    values[key] = value if value else True
  return ml_collections.ConfigDict(values)


def load_module(path: str):
  """The config file at `path` as a module (its `get_config`, and any helper it shares)."""
  if not os.path.isfile(path):
    raise UserError(f"config file {path} does not exist")
  name = "regen_jax_config_" + re.sub(r"\W", "_", os.path.abspath(path))
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def load(path: str, arg: str = "") -> ml_collections.ConfigDict:
  """`get_config(arg)` of the config file at `path`."""
  return load_module(path).get_config(arg or None)


def sibling_module(config_file: str, name: str):
  """The config file `name` beside `config_file` (pass `__file__`), as a module."""
  return load_module(os.path.join(os.path.dirname(os.path.abspath(config_file)), name))


def sibling_config(config_file: str, name: str, test: bool) -> ml_collections.ConfigDict:
  """The config of the file `name` beside `config_file`, tiny with `test`: a stage-2 config
  nests its stage 1's this way."""
  return sibling_module(config_file, name).get_config("test" if test else None)


def base() -> ml_collections.ConfigDict:
  """Loop, data and optimizer settings at full size."""
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.data_dir = ""  # "" = TFDS's default (~/tensorflow_datasets or $TFDS_DATA_DIR)
  config.train_split = "train"
  config.eval_split = "validation"
  config.batch_size = 128
  config.eval_batch_size = 500
  config.num_eval_examples = 0  # 0 = the whole split
  config.num_steps = 2000
  config.log_every = 50
  config.eval_every = 500
  config.checkpoint_every = 500
  config.keep_checkpoints = 3
  config.prefetch = 2  # batches placed on the devices ahead of the step that reads them
  config.compute_dtype = "float32"  # "bfloat16" on accelerators: params and losses stay float32
  config.ema_decay = 0.0  # 0 = no EMA of params

  config.sharding = ml_collections.ConfigDict()
  config.sharding.fsdp = 1  # devices each parameter is split over (the mesh's `fsdp` axis)
  # (regex over a train-state path, rule), first match wins: "fsdp" splits the array's largest
  # dimension that the fsdp axis divides, "replicate" keeps a full copy on every device.
  config.sharding.rules = ((r"model_state/.*", "replicate"), (r".*", "fsdp"))

  config.optimizer = ml_collections.ConfigDict()
  config.optimizer.learning_rate = 1e-3
  config.optimizer.warmup_steps = 100
  config.optimizer.schedule = "cosine"  # or "constant"
  config.optimizer.final_lr_fraction = 0.1
  config.optimizer.b1 = 0.9
  config.optimizer.b2 = 0.99
  config.optimizer.weight_decay = 1e-4
  config.optimizer.grad_clip_norm = 1.0
  return config


# ---------------------------------------------------------------- validation


def _positive_int(value) -> bool:
  return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def flatten(config, prefix: str = "") -> dict:
  """{dotted key: value} of every leaf of a ConfigDict (or dict)."""
  items = config.items() if hasattr(config, "items") else ()
  out = {}
  for key, value in items:
    if isinstance(value, (ml_collections.ConfigDict, dict)):
      out.update(flatten(value, f"{prefix}{key}."))
    else:
      out[f"{prefix}{key}"] = value
  return out


def _matches(value, kind) -> bool:
  if isinstance(value, bool) or kind is bool:
    return isinstance(value, bool) and kind is bool
  if kind in (int, float):
    return isinstance(value, numbers.Integral if kind is int else numbers.Real)
  return isinstance(value, kind)


def _check_tuple(key: str, value, default: tuple):
  """A tuple field keeps its default's element type: (8, 16) takes ints, not (8, 'a')."""
  if not default:
    return
  kind = bool if isinstance(default[0], bool) else int if isinstance(default[0], numbers.Integral) \
      else float if isinstance(default[0], numbers.Real) else type(default[0])
  if not all(_matches(v, kind) for v in default):
    return  # a mixed default: nothing to hold the value to
  if not isinstance(value, (tuple, list)) or not all(_matches(v, kind) for v in value):
    raise UserError(f"{key} must be a tuple of {kind.__name__}, got {value!r}")


def validate(config, reference=None):
  """One `UserError` for the first setting that cannot run, before anything is compiled or
  written: counts and intervals that must be >= 1, dtype and schedule names, sharding, and
  tuple fields that changed element type against `reference` (the file's own defaults)."""
  flat = flatten(config)
  for key, value in flat.items():
    name = key.rsplit(".", 1)[-1]
    if (name in ("batch_size", "eval_batch_size", "num_steps", "keep_checkpoints", "prefetch")
        or name.endswith("_every")) and not _positive_int(value):
      raise UserError(f"{key} must be an integer >= 1, got {value!r}")
  if not (isinstance(flat.get("num_eval_examples", 0), numbers.Integral)
          and flat.get("num_eval_examples", 0) >= 0):
    raise UserError(f"num_eval_examples must be an integer >= 0 (0 = all), got "
                    f"{flat['num_eval_examples']!r}")
  if flat.get("compute_dtype") not in COMPUTE_DTYPES:
    raise UserError(f"compute_dtype must be one of {', '.join(COMPUTE_DTYPES)}, got "
                    f"{flat.get('compute_dtype')!r}")
  for key, value in flat.items():
    if key.endswith("schedule") and value not in SCHEDULES:
      raise UserError(f"{key} must be one of {', '.join(SCHEDULES)}, got {value!r}")
  if not 0 <= flat.get("ema_decay", 0.0) < 1:
    raise UserError(f"ema_decay must be in [0, 1), got {flat['ema_decay']!r}")
  if not _positive_int(flat.get("sharding.fsdp", 1)):
    raise UserError(f"sharding.fsdp must be an integer >= 1, got {flat['sharding.fsdp']!r}")
  if reference is not None:
    defaults = flatten(reference)
    for key, value in flat.items():
      if isinstance(defaults.get(key), tuple):
        _check_tuple(key, value, defaults[key])


# ---------------------------------------------------------------- runs of one workdir


def is_runtime_key(key: str, extra: tuple[str, ...] = ()) -> bool:
  """Whether dotted `key` may differ between runs of one workdir (see RUNTIME_KEYS)."""
  parts = key.split(".")
  return (parts[-1] == "workdir" or parts[-1] in RUNTIME_KEYS
          or any(key == k or key.startswith(k + ".") for k in extra))


def differences(saved, given, runtime: tuple[str, ...] = ()) -> list[str]:
  """'key: saved A, given B' for each setting that defines the run and differs."""
  saved_flat, given_flat = flatten(saved), flatten(given)
  lines = []
  for key in sorted(set(saved_flat) | set(given_flat)):
    if is_runtime_key(key, runtime):
      continue
    old, new = saved_flat.get(key, "<absent>"), given_flat.get(key, "<absent>")
    if comparable(old) != comparable(new):
      lines.append(f"{key}: saved {old!r}, given {new!r}")
  return lines


def comparable(value):
  """config.json stores tuples as lists and every number as JSON: compare on that footing."""
  if isinstance(value, (tuple, list)):
    return [comparable(v) for v in value]
  if isinstance(value, numbers.Real) and not isinstance(value, bool):
    return float(value)
  return value
