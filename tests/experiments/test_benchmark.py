"""The benchmark script runs end to end at its --test size and writes complete records."""

import json
import os
import subprocess
import sys

from tests.helpers import ROOT

COMMON = ("command", "device", "jax", "config", "batch", "dtype", "measurement")
POSITIVE = {
    "train_step": ("lower_seconds", "compile_seconds", "step_seconds", "examples_per_second",
                   "flops_per_step", "achieved_tflops"),
    "input_pipeline": ("resident_step_seconds", "pipeline_step_seconds"),
    "transformer_mfu": ("parameters", "compile_seconds", "step_seconds", "tokens_per_second",
                        "flops_per_step", "flops_per_step_analytic", "achieved_tflops"),
}


def test_benchmark_prints_and_writes_a_complete_record_per_measurement(tmp_path, data_dir):
  out = tmp_path / "results" / "benchmark.json"
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, "experiments", "benchmark.py"), "--test", "--configs",
       "asr/p2g.py", "--out", str(out)],
      cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  records = json.loads(out.read_text())
  assert [json.loads(line) for line in result.stdout.splitlines()] == records  # stdout: JSON only
  assert sorted(r["measurement"] for r in records) == sorted(POSITIVE)
  for record in records:
    assert all(record[key] for key in COMMON), record
    assert "benchmark.py --test" in record["command"] and record["batch"] > 0
    for key in POSITIVE[record["measurement"]]:
      assert record[key] > 0, (record["measurement"], key)
  train, mfu = (next(r for r in records if r["measurement"] == m)
                for m in ("train_step", "transformer_mfu"))
  assert train["config"] == "asr/p2g.py:test" and train["steps_timed"] == 2
  if train["device"].startswith("cpu"):  # no CPU peak is assumed: no MFU
    assert train["mfu"] is None and mfu["mfu"] is None and "--peak_tflops" in train["peak_note"]
  # XLA's count of the transformer step is near the analytic one (which leaves out layer norms,
  # softmax and the optimizer).
  assert 0.9 < mfu["flops_per_step"] / mfu["flops_per_step_analytic"] < 1.3
