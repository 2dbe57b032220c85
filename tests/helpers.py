"""Running the CLI the way a user does, in a subprocess."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli(command, config, workdir, *overrides, timeout=300, check=True, env=None):
  """Runs `python -m regen_jax COMMAND --config configs/CONFIG --workdir WORKDIR ...`
  (CONFIG relative to configs/, e.g. 'image/tokenizer.py:test')."""
  args = [sys.executable, "-m", "regen_jax", command, "--config",
          os.path.join(ROOT, "configs", config), "--workdir", str(workdir), *overrides]
  result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
  if check and result.returncode != 0:
    raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
  return result


def logged(workdir) -> list[dict]:
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f]


def losses(workdir) -> dict[int, list[float]]:
  """step -> every `loss` logged at that step (several when a killed run logged it too)."""
  out = {}
  for row in logged(workdir):
    if "loss" in row:
      out.setdefault(row["step"], []).append(row["loss"])
  return out


def marking_slow(values, slow) -> list:
  """`values` for `pytest.mark.parametrize`, those in `slow` marked slow (`make test-slow`)."""
  return [pytest.param(value, marks=pytest.mark.slow) if value in slow else value
          for value in values]


def config(name: str):
  """The ConfigDict of configs/NAME[:arg] (e.g. 'image/tokenizer.py:test'), as the CLI builds it."""
  from regen_jax.core import config as config_lib
  path, _, arg = name.partition(":")
  return config_lib.load(os.path.join(ROOT, "configs", path), arg)


def assert_one_error_line(result, *fragments):
  """A refused command: non-zero status, no traceback, and one `error:` line holding each
  fragment as the last line of stderr."""
  lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
  assert result.returncode != 0, result.stdout[-2000:]
  assert "Traceback" not in result.stderr, result.stderr[-3000:]
  assert lines and lines[-1].startswith("error: "), result.stderr[-3000:]
  for fragment in fragments:
    assert fragment in lines[-1], (fragment, lines[-1])
