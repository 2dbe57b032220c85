"""Data parallelism over 4 simulated CPU devices, and parameters sharded over 2 (FSDP), each run
in a subprocess that cannot hang CI (docs/testing.md: simulated devices on 2 cores deadlock in
collectives unless the loop waits on results often; the loop does, the timeouts guard the rest).
"""

import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from regen_jax.core import sharding
from regen_jax.errors import UserError
from tests.helpers import cli, losses

_TIMEOUT = 300
TOKENIZER = "image/tokenizer.py:test"


def _devices(n):
  return {"XLA_FLAGS": f"--xla_force_host_platform_device_count={n} "
                       "--xla_cpu_collective_call_terminate_timeout_seconds=60"}


@pytest.fixture(scope="module")
def single_device_run(tmp_path_factory, data_dir):
  workdir = tmp_path_factory.mktemp("single") / "run"
  cli("train", TOKENIZER, workdir, env=_devices(1), timeout=_TIMEOUT)
  return workdir


@pytest.fixture(scope="module")
def four_device_run(tmp_path_factory, data_dir):
  workdir = tmp_path_factory.mktemp("four") / "run"
  cli("train", TOKENIZER, workdir, env=_devices(4), timeout=_TIMEOUT)
  return workdir


def _assert_same_losses(run, reference):
  got, expected = losses(run), losses(reference)
  assert sorted(got) == sorted(expected) and len(expected) >= 4
  for step, (value,) in expected.items():
    assert abs(got[step][0] - value) <= 1e-5 * abs(value), (step, got[step], value)


def test_four_devices_give_the_single_device_losses(four_device_run, single_device_run):
  _assert_same_losses(four_device_run, single_device_run)


def test_parameters_sharded_over_two_devices_give_the_single_device_losses(single_device_run,
                                                                          tmp_path):
  workdir = tmp_path / "fsdp"
  cli("train", TOKENIZER, workdir, "--config.sharding.fsdp=2", env=_devices(2),
      timeout=_TIMEOUT)
  _assert_same_losses(workdir, single_device_run)


def test_checkpoint_saved_on_four_devices_resumes_on_one(four_device_run):
  result = cli("train", TOKENIZER, four_device_run, "--config.num_steps=30", env=_devices(1),
               timeout=_TIMEOUT)
  assert "resumed from step 20" in result.stdout
  assert max(losses(four_device_run)) == 30


def test_fsdp_rules_split_the_largest_divisible_dimension():
  assert sharding.fsdp_spec((3, 3, 8, 16), 4) == P(None, None, None, "fsdp")
  assert sharding.fsdp_spec((12, 8), 4) == P("fsdp", None)
  assert sharding.fsdp_spec((3, 5), 4) == P()  # nothing divides: a full copy
  assert sharding.fsdp_spec((12, 8), 1) == P()
  mesh = sharding.make_mesh()
  tree = {"params": {"w": np.zeros((8, 4))}, "model_state": {"codebook": np.zeros((8, 4))}}
  rules = ((r"model_state/.*", "replicate"), (r".*", "fsdp"))
  placed = sharding.tree_shardings(tree, mesh, rules)
  assert placed["model_state"]["codebook"].spec == P() and placed["params"]["w"].mesh == mesh
  with pytest.raises(UserError, match="regex, one of fsdp, replicate"):
    sharding.tree_shardings(tree, mesh, ((".*", "shard"),))
