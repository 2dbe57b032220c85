"""Two processes joined by jax.distributed (the multi-host path) train like one process."""

import os
import socket
import subprocess
import sys

from tests.helpers import ROOT, cli, losses

_TIMEOUT = 300
_CPU_ONE_DEVICE = {"JAX_PLATFORMS": "cpu", "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_two_processes_reproduce_the_single_process_losses(tmp_path, data_dir):
  reference = tmp_path / "single"
  cli("train", "image/tokenizer.py:test", reference, env=_CPU_ONE_DEVICE, timeout=_TIMEOUT)
  workdir, port = tmp_path / "two", _free_port()
  processes = [subprocess.Popen(
      [sys.executable, "-m", "regen_jax", "train", "--config",
       os.path.join(ROOT, "configs", "image/tokenizer.py:test"), "--workdir", str(workdir),
       f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2", f"--process_id={i}"],
      cwd=ROOT, env={**os.environ, **_CPU_ONE_DEVICE}, stdout=subprocess.PIPE,
      stderr=subprocess.PIPE, text=True) for i in range(2)]
  try:
    outputs = [p.communicate(timeout=_TIMEOUT) for p in processes]
  finally:
    for p in processes:
      p.kill()  # SIGKILL: after jax.distributed, SIGTERM is caught and ignored
  assert [p.returncode for p in processes] == [0, 0], [o[1][-2000:] for o in outputs]
  two, single = losses(workdir), losses(reference)
  assert sorted(two) == sorted(single)
  for step, (value,) in single.items():
    assert abs(two[step][0] - value) <= 1e-5 * abs(value), (step, two[step], value)
