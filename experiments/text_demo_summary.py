"""Collects `make demo-text`'s evaluations: record -> plan -> definition (regen) vs
record -> definition (direct), on the test split (lemmas in no training record).

  python experiments/text_demo_summary.py runs/text
reads DIR/{realizer,planner,direct}/eval_test.json (written by `python -m regen_jax evaluate`),
measures each stage's training FLOPs (XLA cost analysis of its train step × its steps), prints
JSON and writes DIR/summary.json.
"""

import json
import os
import platform
import sys

import jax

from regen_jax.core import loop
from regen_jax.core import workdir as workdir_lib

_SCORES = ("bleu", "chrf", "plan_coverage", "lm_perplexity", "reference_lm_perplexity",
           "distinct_1", "distinct_2", "length_ratio", "num_examples", "own_plan_coverage")


def _load(runs: str, stage: str) -> dict:
  with open(os.path.join(runs, stage, "eval_test.json")) as f:
    return json.load(f)


def _by_strategy(evaluation: dict) -> dict:
  strategies = sorted({key.split("_")[0] for key in evaluation if key.endswith("_bleu")})
  return {name: {score: evaluation[f"{name}_{score}"] for score in _SCORES
                 if f"{name}_{score}" in evaluation} for name in strategies}


def main(runs: str):
  evaluations = {stage: _load(runs, stage) for stage in ("realizer", "planner", "direct")}
  flops = {stage: loop.training_flops(workdir_lib.require_saved_config(
      os.path.join(runs, stage)))["total"] for stage in evaluations}
  summary = {
      "command": "make demo-text",
      "device": f"{jax.devices()[0].device_kind} x{jax.device_count()} "
                f"({platform.processor() or platform.machine()})",
      "jax": jax.__version__,
      "steps": {stage: e["step"] for stage, e in evaluations.items()},
      "training_tflops": {stage: round(value / 1e12, 2) for stage, value in flops.items()},
      "regen": _by_strategy(evaluations["planner"]),
      "direct": _by_strategy(evaluations["direct"]),
      "realizer_from_reference_plans": _by_strategy(evaluations["realizer"]),
      "nll_per_token": {stage: e["nll_per_token"] for stage, e in evaluations.items()},
  }
  print(json.dumps(summary, indent=1))
  with open(os.path.join(runs, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1)


if __name__ == "__main__":
  main(sys.argv[1] if len(sys.argv) > 1 else "runs/text")
