"""A stage's workdir: the config it was trained with, and the lock one training run holds.

`config.json` is written when training starts and checked whenever the workdir is used again:
resuming, evaluating, sampling or exporting with a config that differs in anything but the
run-time keys (`core.config.RUNTIME_KEYS` and the stage's own) is refused in one line naming
the keys, and so is a config of another stage.
"""

import errno
import fcntl
import json
import os
import socket

import ml_collections

from regen_jax.core import config as config_lib
from regen_jax.errors import UserError

CONFIG_FILE = "config.json"
LOCK_FILE = "train.lock"


def check_writable(workdir: str):
  """Refuses a workdir that is a file or cannot be created and written, before anything runs."""
  path = os.path.abspath(workdir)
  if os.path.exists(path) and not os.path.isdir(path):
    raise UserError(f"workdir {workdir} is a file, not a directory")
  existing = path
  while not os.path.exists(existing):
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    raise UserError(f"workdir {workdir} cannot be created: {existing} is a file")
  probe = os.path.join(existing, f".regen_jax_probe_{os.getpid()}")
  try:
    os.close(os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_EXCL))
    os.remove(probe)
  except OSError as e:
    raise UserError(f"workdir {workdir} is not writable ({existing}: "
                    f"{e.strerror or errno.errorcode.get(e.errno, e)})") from None


class TrainLock:
  """An exclusive lock on a workdir for one training run (fcntl.flock on `train.lock`).

  The kernel drops a flock when its process ends in any way, SIGKILL included, so a lock file
  left behind by a dead run never blocks the next: only a live holder does. The file records the
  holder (host and pid) for the error message."""

  def __init__(self, workdir: str):
    self.path = os.path.join(os.path.abspath(workdir), LOCK_FILE)
    self._file = None

  def __enter__(self):
    os.makedirs(os.path.dirname(self.path), exist_ok=True)
    self._file = open(self.path, "a+")
    try:
      fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      self._file.seek(0)
      holder = self._file.read().strip() or "another process"
      self._file.close()
      raise UserError(f"workdir {os.path.dirname(self.path)} is in use by a training run "
                      f"({holder}): wait for it to finish, or stop it") from None
    self._file.seek(0)
    self._file.truncate()
    self._file.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
    self._file.flush()
    return self

  def __exit__(self, *exc):
    self._file.truncate(0)
    fcntl.flock(self._file, fcntl.LOCK_UN)
    self._file.close()


def saved_config(workdir: str) -> ml_collections.ConfigDict | None:
  path = os.path.join(workdir or "", CONFIG_FILE)
  if not os.path.isfile(path):
    return None
  try:
    with open(path) as f:
      return ml_collections.ConfigDict(json.load(f))
  except (ValueError, UnicodeDecodeError) as e:
    raise UserError(f"{path} is not a config this version wrote ({e})") from None


def require_saved_config(workdir: str, what: str = "this stage") -> ml_collections.ConfigDict:
  saved = saved_config(workdir)
  if saved is None:
    raise UserError(f"no trained model in {workdir!r} (no {CONFIG_FILE}): train {what} first")
  if "stage" not in saved:
    raise UserError(f"{workdir} was written by an older regen_jax (its config names no `stage`):"
                    f" retrain it with this version")
  return saved


def check_same_stage(saved, expected_stage: str, workdir: str):
  if saved.stage != expected_stage:
    raise UserError(f"{workdir} holds a {short_name(saved.stage)!r} stage, not the "
                    f"{short_name(expected_stage)!r} stage this config describes: pass the "
                    f"workdir of a {short_name(expected_stage)!r} stage")


def check_config(workdir: str, config, runtime_keys: tuple[str, ...]):
  """Refuses `config` for a workdir trained with another one (see the module docstring)."""
  saved = require_saved_config(workdir)
  check_same_stage(saved, config.stage, workdir)
  differing = config_lib.differences(saved, config, runtime_keys)
  if differing:
    shown = "; ".join(differing[:6]) + ("; …" if len(differing) > 6 else "")
    raise UserError(f"the config differs from the one {workdir} was trained with ({shown}): "
                    f"use that config, or another workdir")


def write_config(workdir: str, config):
  path = os.path.join(workdir, CONFIG_FILE)
  tmp = f"{path}.{os.getpid()}.tmp"
  with open(tmp, "w") as f:
    f.write(config.to_json_best_effort(indent=2, sort_keys=True))
  os.replace(tmp, path)


def short_name(stage_path: str) -> str:
  """'package.image.prior:ImagePrior' -> 'image.prior:ImagePrior': for messages, the last two
  parts of the module name what the stage is."""
  module, _, name = stage_path.partition(":")
  return ".".join(module.split(".")[-2:]) + (f":{name}" if name else "")
