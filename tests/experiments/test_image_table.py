"""The image table scores every route and the shared pixel-flow baseline from one harness --out."""

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT


def _script(name: str, *args, timeout=900):
  result = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", name), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
  assert result.returncode == 0, result.stderr[-3000:]
  return result.stdout


@pytest.mark.slow  # four harness runs (≈ 11 min on 2 cores)
def test_image_table_over_the_four_routes_sharing_the_baselines(tmp_path):
  for domain in ("image", "image_givt", "image_vq", "image_fsq"):
    _script("regen_vs_direct.py", "--domain", domain, "--test", "--seeds", "1",
            "--out", str(tmp_path))
  # One --out: the four comparisons trained one pixel flow, one pixel twin and one classifier.
  runs = os.listdir(tmp_path / "seed0" / "budget1")
  assert runs.count("image_pixel_flow") == 1 and runs.count("image_direct_prior=maskgit") == 1
  budgets = {json.loads((tmp_path / f"{d}.json").read_text())["table"][0]["budget_flops"]
             for d in ("image", "image_givt", "image_vq", "image_fsq")}
  assert len(budgets) == 1

  printed = _script("image_table.py", str(tmp_path), "--seeds", "1", "--steps", "1,2",
                    "--guidance", "1,3", "--per-class", "2")
  summary = json.loads((tmp_path / "image_table.json").read_text())
  counts = {}
  for row in summary["table"]:
    counts[row["system"]] = counts.get(row["system"], 0) + 1
    assert 0 <= row["sample_accuracy"] <= 1 and row["frechet_distance"] >= 0
    assert row["seeds"] == 1 and row["sample_accuracy_std"] is None
  # The flow priors at each of the 2 x 2 sampler settings, the others at their config's.
  assert counts == {"VQ + MaskGIT": 1, "FSQ + MaskGIT": 1, "KL + flow": 4, "KL + GIVT": 1,
                    "pixel flow (direct)": 4, "pixel MaskGIT (patch AR head)": 1}
  assert all(row["images"] == 20 for row in summary["runs"])
  assert set(summary["costs"]) == set(counts)
  assert "| KL + flow | Euler 2, guidance 3 |" in printed
