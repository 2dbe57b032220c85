"""Running the CLI the way a user does, in a subprocess."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli(command, config, workdir, *overrides, timeout=300, check=True, env=None):
  """Runs `python -m regen_jax COMMAND --config configs/CONFIG --workdir WORKDIR ...`."""
  args = [sys.executable, "-m", "regen_jax", command, "--config", os.path.join(ROOT, "configs", config),
          "--workdir", str(workdir), *overrides]
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
