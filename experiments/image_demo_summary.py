"""Collects the demo's evaluations into one table: the regen routes (X -> Y' -> Y) beside the
direct baseline (X -> Y).

  python experiments/image_demo_summary.py runs/demo
reads DIR/<stage>/eval_test.json (written by `python -m regen_jax evaluate`) of `make demo`'s
runs (classifier, autoencoder, flow, pixel_flow) and, after `make demo-image-vq`, of the discrete
route's (tokenizer, prior); prints JSON and writes DIR/summary.json.
"""

import json
import os
import platform
import sys

import jax

SAMPLE_SCORES = ("sample_accuracy", "frechet_distance")


def evaluations(runs: str, names) -> dict:
  out = {}
  for name in names:
    with open(os.path.join(runs, name, "eval_test.json")) as f:
      out[name] = json.load(f)
  return out


def main(runs: str):
  stages = evaluations(runs, ("classifier", "autoencoder", "flow", "pixel_flow"))
  discrete = ("tokenizer", "prior")
  if all(os.path.exists(os.path.join(runs, name, "eval_test.json")) for name in discrete):
    stages.update(evaluations(runs, discrete))
  pick = lambda stage, keys: {k: stages[stage][k] for k in keys}
  summary = {
      "command": "make demo-image-vq" if "prior" in stages else "make demo",
      "device": f"{jax.devices()[0].device_kind} x{jax.device_count()} "
                f"({platform.processor() or platform.machine()})",
      "jax": jax.__version__,
      "split": stages["flow"]["split"],
      "classifier_accuracy_on_real_images": stages["classifier"]["accuracy"],
      "autoencoder": pick("autoencoder", ("psnr", "kl", "latent_shift", "latent_scale")),
      "regen_class_to_kl_latents_to_image": pick("flow", (*SAMPLE_SCORES, "flow_mse")),
      "direct_class_to_pixels_by_flow": pick("pixel_flow", (*SAMPLE_SCORES, "flow_mse")),
  }
  if "prior" in stages:
    summary["tokenizer"] = pick("tokenizer", ("psnr", "codebook_usage", "perplexity"))
    summary["regen_class_to_vq_codes_to_image"] = pick("prior", (*SAMPLE_SCORES, "nll_per_token"))
  with open(os.path.join(runs, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
  print(json.dumps(summary, indent=2))


if __name__ == "__main__":
  main(sys.argv[1])
