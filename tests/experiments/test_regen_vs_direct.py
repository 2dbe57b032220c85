"""The regen-vs-direct harness runs every domain end to end at a tiny budget (one seed)."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from regen_jax import domains
from tests.helpers import ROOT, marking_slow


# One domain (`text`) in the default run; the others train more stages (minutes each) and run
# in `make test-slow`, to keep `make test` in its 25 minutes.
SLOW = {"asr", "image", "image_fsq", "image_givt", "image_vq", "music", "tts", "video"}


@pytest.mark.parametrize("domain", marking_slow(sorted(domains.all_domains()), slow=SLOW))
def test_harness_trains_and_scores_regen_and_direct_under_one_budget(domain, tmp_path,
                                                                     speech_data_dir):
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, "experiments", "regen_vs_direct.py"), "--domain",
       domain, "--test", "--seeds", "1", "--out", str(tmp_path)],
      cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  summary = json.loads((tmp_path / f"{domain}.json").read_text())
  runs = {row["system"]: row for row in summary["runs"]}
  baselines = [name for name, _ in domains.all_domains()[domain].comparison.baselines]
  assert set(runs) == {"direct", "regen (stage 1 amortised)", "regen (stage 1 charged)",
                       *baselines}
  budget = runs["direct"]["budget_flops"]
  assert budget > 0 and runs["direct"]["stage_flops"] == budget
  for name in baselines:  # trained to the same budget, to within one of its steps
    per_step = runs[name]["stage_flops"] / runs[name]["steps"]
    assert budget - per_step < runs[name]["stage_flops"] <= budget
  amortised, charged = runs["regen (stage 1 amortised)"], runs["regen (stage 1 charged)"]
  # Equal budgets: the regen stage spends what is left, to within one of its steps.
  per_step = amortised["stage_flops"] / amortised["steps"]
  assert budget - per_step < amortised["stage_flops"] <= budget
  if charged.get("skipped") is None:
    spent = charged["stage_flops"] + charged["stage1_flops"]
    assert budget - per_step < spent <= budget and charged["steps"] < amortised["steps"]
  for row in summary["runs"]:
    assert row["metric"] is None or row["metric"] >= 0
  # One seed: the table's mean is that seed's score, with no spread to report.
  table = {row["system"]: row for row in summary["table"]}
  assert table["direct"]["mean"] == runs["direct"]["metric"] and table["direct"]["std"] is None
  assert f"{runs['direct']['metric']:.3f} (n=1)" in (tmp_path / f"{domain}.md").read_text()
  assert (tmp_path / f"{domain}_quality_vs_budget.png").stat().st_size > 0


def test_a_shorter_run_scales_its_learning_rate_warm_up():
  spec = importlib.util.spec_from_file_location(
      "regen_vs_direct", os.path.join(ROOT, "experiments", "regen_vs_direct.py"))
  harness_lib = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(harness_lib)
  comparison = domains.all_domains()["tts"].comparison
  harness = harness_lib.Harness(comparison, "unused", test=False)
  # The acoustic config: 500 steps, 100 of warm-up; a 145-step run warms up for 29.
  overrides = harness._overrides(comparison.regen, {}, seed=0, steps=145)
  assert overrides["num_steps"] == 145 and overrides["optimizer.warmup_steps"] == 29
  assert harness._overrides(comparison.regen, {}, seed=0) == {"seed": 0}
