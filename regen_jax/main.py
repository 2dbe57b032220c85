"""regen_jax: train, sample from and evaluate the stages of regeneration-learning experiments.

Usage:
  python -m regen_jax train    --config configs/<file>.py[:arg] --workdir DIR [--config.key=value ...]
  python -m regen_jax sample   --config configs/<file>.py[:arg] --workdir DIR [--output FILE]
                               [--text "A sentence."] [--voice N]   (speech synthesis)
                               [--audio FILE.wav]                   (speech recognition)
  python -m regen_jax evaluate --config configs/<file>.py[:arg] --workdir DIR
  python -m regen_jax export   --config configs/<file>.py[:arg] --workdir DIR [--output EXPORT_DIR]

train     trains (or resumes) the stage in DIR: checkpoints, metrics.jsonl, TensorBoard, samples/.
sample    writes samples of the latest checkpoint: a PNG grid (image priors: one row per class);
          a WAV and its mel PNG of --text (speech synthesis); the transcript of --audio
          (speech recognition, printed and written as .txt); --text's spelling from its phonemes
          (phoneme-to-grapheme).
evaluate  scores the latest checkpoint on the evaluation split (--config.eval_split) and writes
          DIR/eval_<split>.json.
export    writes the whole sampler of the latest checkpoint (image priors: class -> image;
          speech synthesis with --config.vocoder_workdir: phoneme ids -> waveform) to
          EXPORT_DIR (default DIR/export) as serialized StableHLO, its params and a manifest,
          which regen_jax/exported.py loads and runs without regen_jax.
"""

import json
import os
import re
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from regen_jax.errors import UserError

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file[:arg].",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory of this stage's checkpoints and outputs.")
_OUTPUT = flags.DEFINE_string("output", None, "sample: file to write (default DIR/samples/sample.png "
                              "for images, .wav for speech); export: directory to write "
                              "(default DIR/export).")
_TEXT = flags.DEFINE_string("text", None, "sample (speech synthesis): the sentence to speak.")
_VOICE = flags.DEFINE_integer("voice", None, "sample (speech synthesis): voice index (default 0).")
_AUDIO = flags.DEFINE_string("audio", None, "sample (speech recognition): WAV file to transcribe.")
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address", None, "host:port of process 0 for multi-host runs (jax.distributed); "
    "omit on one host, or on TPU/SLURM where JAX finds it itself (then pass --distributed).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Processes of a multi-host run.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index in a multi-host run.")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() with "
                                 "the cluster's auto-detected settings.")


def _train(config, workdir):
  from regen_jax.train import loop
  loop.train(config, workdir)


def _sample(config, workdir):
  from regen_jax.train import loop
  given = (("text", _TEXT), ("voice", _VOICE), ("audio", _AUDIO))
  request = {name: flag.value for name, flag in given if flag.value is not None}
  task, params, model_state, _ = loop.restore_for_inference(config, workdir)
  unexpected = sorted(set(request) - set(task.sample_inputs))
  if unexpected:
    raise UserError(f"task {config.task!r} takes no --{' --'.join(unexpected)}")
  path = _OUTPUT.value or os.path.join(workdir, "samples", "sample" + task.sample_suffix)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  for written in task.sample(params, model_state, path, **request):
    print(f"wrote {written}")


def _evaluate(config, workdir):
  from regen_jax.train import loop
  summary = loop.evaluate_stage(config, workdir)
  split = re.sub(r"\W+", "_", config.eval_split).strip("_")  # e.g. "test[:50]" -> "test_50"
  with open(os.path.join(workdir, f"eval_{split}.json"), "w") as f:
    json.dump(summary, f, indent=2)
  print(json.dumps(summary))


def _export(config, workdir):
  from regen_jax import export
  export_dir = _OUTPUT.value or os.path.join(workdir, "export")
  manifest = export.export_stage(config, workdir, export_dir)
  print(f"wrote {export_dir}: the sampler of step {manifest['step']} for "
        f"{', '.join(manifest['platforms'])}; load it with regen_jax/exported.py")


COMMANDS = {"train": _train, "sample": _sample, "evaluate": _evaluate, "export": _export}


def main(argv):
  if len(argv) != 2 or argv[1] not in COMMANDS:
    raise app.UsageError(f"give one command of {', '.join(COMMANDS)}; got {argv[1:]}")
  logging.set_verbosity(logging.WARNING)  # orbax and tfds log every file they touch at INFO
  if _CONFIG.value is None or not _WORKDIR.value:
    raise app.UsageError("--config and --workdir are required")
  if _DISTRIBUTED.value or _COORDINATOR.value:
    import jax
    jax.distributed.initialize(coordinator_address=_COORDINATOR.value,
                               num_processes=_NUM_PROCESSES.value, process_id=_PROCESS_ID.value)
  from regen_jax.exported import ExportError  # imports jax, which every command needs anyway
  try:
    COMMANDS[argv[1]](_CONFIG.value, _WORKDIR.value)
  except (UserError, ExportError) as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)


def _parse_flags(argv):
  """absl's parser, with a bad flag (unknown config key, wrong type) reported in one line."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    message = str(e)
  except (AttributeError, KeyError) as e:  # how config_flags reports a key the config lacks
    key = str(e).strip("\"'")
    given = [a for a in argv if a.startswith("--config.") and key in a.split("=")[0]]
    message = f"unknown config key {key!r} in {given[0] if given else 'a --config override'}"
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def run():
  sys.modules["__main__"].__doc__ = __doc__  # absl prints it for --help / usage errors
  app.run(main, flags_parser=_parse_flags)
