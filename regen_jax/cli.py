"""regen_jax: train, sample from, evaluate and export the stages of regeneration-learning
experiments.

Usage:
  python -m regen_jax train    --config configs/<domain>/<file>.py[:arg] --workdir DIR
                               [--config.key=value ...]
  python -m regen_jax sample   --config ... --workdir DIR [--output FILE] [the stage's flags]
  python -m regen_jax evaluate --config ... --workdir DIR
  python -m regen_jax export   --config ... --workdir DIR [--output EXPORT_DIR]

train     trains (or resumes) the stage in DIR: checkpoints, metrics.jsonl, TensorBoard, samples/.
sample    writes samples of the newest checkpoint to --output (default DIR/samples/sample.<ext>,
          the extension the stage writes: .png, .wav or .txt), and prints what it wrote. Flags
          such as --text, --voice and --audio are declared by the stages that take them.
evaluate  scores the newest checkpoint on --config.eval_split and writes DIR/eval_<split>.json.
export    writes the whole sampler of the newest checkpoint (X -> Y, through stage 1) to
          EXPORT_DIR (default DIR/export) as serialized StableHLO, its parameters and a manifest,
          which regen_jax/export/exported.py loads and runs without regen_jax.
A config describes one stage; using a workdir with the config of another stage, or one that
differs in anything but run-time settings (steps, intervals, evaluation split, workdirs), is
refused in one line.
"""

import json
import os
import re
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from regen_jax import domains
from regen_jax.errors import UserError

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file[:arg].",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None,
                               "Directory of this stage's checkpoints and outputs.")
_OUTPUT = flags.DEFINE_string("output", None, "sample: file to write (its extension is the "
                              "stage's: .png, .wav or .txt); export: directory to write "
                              "(default DIR/export).")
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address", None, "host:port of process 0 for multi-host runs (jax.distributed); "
    "omit on one host, or on TPU/SLURM where JAX finds it itself (then pass --distributed).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Processes of a multi-host run.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index in a multi-host run.")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() with "
                                 "the cluster's auto-detected settings.")
_DEFINE = {str: flags.DEFINE_string, int: flags.DEFINE_integer, float: flags.DEFINE_float}
SAMPLE_FLAGS = {flag.name: _DEFINE[flag.kind](flag.name, None, f"sample: {flag.help}")
                for flag in domains.sample_flags()}


def _train(config, workdir):
  from regen_jax.core import loop
  loop.train(config, workdir)


def _sample_path(stage, workdir: str) -> str:
  """--output, which must end in the stage's extension, or DIR/samples/sample.<ext>."""
  path = _OUTPUT.value or os.path.join(workdir, "samples", "sample" + stage.sample_suffix)
  if not path.endswith(stage.sample_suffix):
    raise UserError(f"--output {path}: this stage writes {stage.sample_suffix} files; give a "
                    f"path ending in {stage.sample_suffix}")
  if os.path.isdir(path):
    raise UserError(f"--output {path} is a directory; give a file ending in {stage.sample_suffix}")
  return path


def _sample(config, workdir):
  from regen_jax.core import loop
  request = {name: flag.value for name, flag in SAMPLE_FLAGS.items() if flag.value is not None}
  stage, params, model_state, _ = loop.restore_for_inference(config, workdir)
  unexpected = sorted(set(request) - {flag.name for flag in stage.sample_flags})
  if unexpected:
    raise UserError(f"stage {type(stage).__name__} takes no --{' --'.join(unexpected)}")
  path = _sample_path(stage, workdir)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  for written in stage.sample(params, model_state, path, **request):
    print(f"wrote {written}")


def _evaluate(config, workdir):
  from regen_jax.core import loop
  from regen_jax.core import workdir as workdir_lib
  split = re.sub(r"\W+", "_", config.eval_split).strip("_")  # e.g. "test[:50]" -> "test_50"
  path = os.path.join(workdir, f"eval_{split}.json")
  workdir_lib.check_writable(workdir)  # before minutes of evaluation, not after
  summary = loop.evaluate_stage(config, workdir)
  with open(path, "w") as f:
    json.dump(summary, f, indent=2)
  print(json.dumps(summary))


def _export(config, workdir):
  from regen_jax import export
  export_dir = _OUTPUT.value or os.path.join(workdir, "export")
  manifest = export.export_stage(config, workdir, export_dir)
  print(f"wrote {export_dir}: the sampler of step {manifest['step']} for "
        f"{', '.join(manifest['platforms'])}; load it with regen_jax/export/exported.py")


COMMANDS = {"train": _train, "sample": _sample, "evaluate": _evaluate, "export": _export}


def _checked_config():
  """The config of --config, validated against the file's own defaults."""
  from regen_jax.core import config as config_lib
  config = _CONFIG.value
  path, _, arg = flags.FLAGS["config"].config_filename.partition(":")
  if not os.path.isfile(path):
    raise UserError(f"config file {path} does not exist")
  config_lib.validate(config, reference=config_lib.load(path, arg))
  return config


def main(argv):
  if len(argv) != 2 or argv[1] not in COMMANDS:
    raise app.UsageError(f"give one command of {', '.join(COMMANDS)}; got {argv[1:]}")
  logging.set_verbosity(logging.WARNING)  # orbax and tfds log every file they touch at INFO
  if _CONFIG.value is None or not _WORKDIR.value:
    raise app.UsageError("--config and --workdir are required")
  try:
    config = _checked_config()
    if _DISTRIBUTED.value or _COORDINATOR.value:
      import jax
      jax.distributed.initialize(coordinator_address=_COORDINATOR.value,
                                 num_processes=_NUM_PROCESSES.value, process_id=_PROCESS_ID.value)
    from regen_jax.export.exported import ExportError  # imports jax, which every command needs
    try:
      COMMANDS[argv[1]](config, _WORKDIR.value)
    except ExportError as e:
      raise UserError(str(e)) from None
  except UserError as e:
    print(f"error: {e}", file=sys.stderr, flush=True)
    sys.exit(2)


def _parse_flags(argv):
  """absl's parser, with a bad flag (unknown config key, wrong type, a config file that fails
  to load) reported in one line."""
  try:
    return flags.FLAGS(argv)
  except UserError as e:  # raised while the config file's get_config ran
    message = str(e)
  except flags.Error as e:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    message = lines[-1] if "Traceback" in str(e) else " ".join(lines)
  except (AttributeError, KeyError) as e:  # how config_flags reports a key the config lacks
    key = str(e).strip("\"'")
    given = [a for a in argv if a.startswith("--config.") and key in a.split("=")[0]]
    message = f"unknown config key {key!r} in {given[0] if given else 'a --config override'}"
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def run():
  sys.modules["__main__"].__doc__ = __doc__  # absl prints it for --help / usage errors
  app.run(main, flags_parser=_parse_flags)
