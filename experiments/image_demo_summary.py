"""Collects the demo's evaluations into one table: regen (X -> Y' -> Y) vs direct (X -> Y).

  python experiments/image_demo_summary.py runs/demo
reads DIR/{classifier,tokenizer,prior,direct}/eval_test.json (written by
`python -m regen_jax evaluate`), prints JSON, and writes DIR/summary.json.
"""

import json
import os
import platform
import sys

import jax


def main(runs: str):
  stages = {}
  for stage in ("classifier", "tokenizer", "prior", "direct"):
    with open(os.path.join(runs, stage, "eval_test.json")) as f:
      stages[stage] = json.load(f)
  summary = {
      "command": "make demo",
      "device": f"{jax.devices()[0].device_kind} x{jax.device_count()} "
                f"({platform.processor() or platform.machine()})",
      "jax": jax.__version__,
      "split": stages["prior"]["split"],
      "classifier_accuracy_on_real_images": stages["classifier"]["accuracy"],
      "tokenizer": {k: stages["tokenizer"][k] for k in ("psnr", "codebook_usage", "perplexity")},
      "regen_class_to_codes_to_image": {k: stages["prior"][k] for k in
                                        ("sample_accuracy", "frechet_distance", "nll_per_token")},
      "direct_class_to_pixels": {k: stages["direct"][k] for k in
                                 ("sample_accuracy", "frechet_distance", "nll_per_token")},
  }
  with open(os.path.join(runs, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
  print(json.dumps(summary, indent=2))


if __name__ == "__main__":
  main(sys.argv[1])
