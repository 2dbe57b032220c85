"""Data parallelism over 4 simulated CPU devices, each run in a subprocess that cannot hang CI.

(DESIGN.md §5: simulated devices on 2 cores deadlock in collectives unless the loop waits on
results often; the loop does, the timeout and XLA's collective timeout guard the rest.)
"""

import pytest

from tests.helpers import cli, losses

_TIMEOUT = 300


def _devices(n):
  return {"XLA_FLAGS": f"--xla_force_host_platform_device_count={n} "
                       "--xla_cpu_collective_call_terminate_timeout_seconds=60"}


@pytest.fixture(scope="module")
def four_device_run(tmp_path_factory, data_dir):
  workdir = tmp_path_factory.mktemp("four") / "run"
  cli("train", "image_tokenizer.py:test", workdir, env=_devices(4), timeout=_TIMEOUT)
  return workdir


def test_four_devices_give_the_single_device_losses(four_device_run, tmp_path):
  single = tmp_path / "single"
  cli("train", "image_tokenizer.py:test", single, env=_devices(1), timeout=_TIMEOUT)
  sharded, reference = losses(four_device_run), losses(single)
  assert sorted(sharded) == sorted(reference) and len(reference) >= 4
  for step, (value,) in reference.items():
    assert abs(sharded[step][0] - value) <= 1e-5 * abs(value), (step, sharded[step], value)


def test_checkpoint_saved_on_four_devices_resumes_on_one(four_device_run):
  result = cli("train", "image_tokenizer.py:test", four_device_run, "--config.num_steps=30",
               env=_devices(1), timeout=_TIMEOUT)
  assert "resumed from step 20" in result.stdout
  assert max(losses(four_device_run)) == 30
