"""Collects `make demo-music`'s evaluations: melody -> chord template -> alto, tenor, bass
(regen) vs melody -> alto, tenor, bass (direct), on the test split (tunes in no training
chorale), beside Bach's own harmonisations of the same windows.

  python experiments/music_demo_summary.py runs/music
reads DIR/{voicing,planner,direct}/eval_test.json (written by `python -m regen_jax evaluate`)
and DIR/template.json (experiments/music_template.py), measures each stage's training FLOPs
(XLA cost analysis of its train step × its steps), prints JSON and writes DIR/summary.json.
"""

import json
import os
import platform
import sys

import jax

from regen_jax.core import loop
from regen_jax.core import workdir as workdir_lib

_STAGES = ("voicing", "planner", "direct")


def _load(path: str) -> dict:
  with open(path) as f:
    return json.load(f)


def _prefixed(evaluation: dict, prefix: str) -> dict:
  return {key[len(prefix):]: value for key, value in evaluation.items() if key.startswith(prefix)}


def main(runs: str):
  evaluations = {stage: _load(os.path.join(runs, stage, "eval_test.json")) for stage in _STAGES}
  flops = {stage: loop.training_flops(workdir_lib.require_saved_config(
      os.path.join(runs, stage)))["total"] for stage in _STAGES}
  template = _load(os.path.join(runs, "template.json"))
  experts = template["expert_analyses"]
  summary = {
      "command": "make demo-music",
      "device": f"{jax.devices()[0].device_kind} x{jax.device_count()} "
                f"({platform.processor() or platform.machine()})",
      "jax": jax.__version__,
      "steps": {stage: e["step"] for stage, e in evaluations.items()},
      "training_tflops": {stage: round(value / 1e12, 2) for stage, value in flops.items()},
      "test_windows": evaluations["direct"]["num_windows"],
      "regen": _prefixed(evaluations["planner"], "generated_"),
      "direct": _prefixed(evaluations["direct"], "generated_"),
      "bach": _prefixed(evaluations["direct"], "bach_"),
      "voicing_from_bach_templates": _prefixed(evaluations["voicing"], "generated_"),
      "nll_per_sixteenth": {stage: _prefixed(evaluations[stage], "nll_")
                            for stage in ("voicing", "direct")},
      "template_nll_per_token": evaluations["planner"]["nll_per_token"],
      "template_rule": {
          "chorales_held": template["chorales_held"], "tunes": template["tunes"],
          "symbols_used": template["symbols_used"],
          "share_other": template["chord_share"].get("other", 0.0),
          "expert_root_agreement": experts["root_agreement"],
          "expert_beats_named": experts["beats_named"],
          "expert_median_chorale_agreement": experts["median_chorale_agreement"]},
  }
  print(json.dumps(summary, indent=1))
  with open(os.path.join(runs, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1)


if __name__ == "__main__":
  main(sys.argv[1] if len(sys.argv) > 1 else "runs/music")
