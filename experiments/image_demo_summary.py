"""Collects the demo's evaluations into one table: the regen routes (X -> Y' -> Y) beside the
direct baseline (X -> Y).

  python experiments/image_demo_summary.py runs/demo
reads DIR/<stage>/eval_test.json (written by `python -m regen_jax evaluate`) of the classifier and
the direct baseline (pixel_flow), and of each route whose runs are there: `make demo`'s
(autoencoder, flow) and `make demo-image-vq`'s (tokenizer, prior, and the discrete route's
pixel twin, pixel_twin); prints JSON and writes DIR/summary.json.
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
  stages = evaluations(runs, ("classifier", "pixel_flow"))
  routes = {"flow": ("autoencoder", "flow"), "vq": ("tokenizer", "prior", "pixel_twin")}
  present = [route for route, names in routes.items()
             if all(os.path.exists(os.path.join(runs, name, "eval_test.json")) for name in names)]
  for route in present:
    stages.update(evaluations(runs, routes[route]))
  pick = lambda stage, keys: {k: stages[stage][k] for k in keys}
  summary = {
      "command": " then ".join({"flow": "make demo", "vq": "make demo-image-vq"}[r]
                               for r in present),
      "device": f"{jax.devices()[0].device_kind} x{jax.device_count()} "
                f"({platform.processor() or platform.machine()})",
      "jax": jax.__version__,
      "split": stages["pixel_flow"]["split"],
      "classifier_accuracy_on_real_images": stages["classifier"]["accuracy"],
      "direct_class_to_pixels_by_flow": pick("pixel_flow", (*SAMPLE_SCORES, "flow_mse")),
  }
  if "flow" in present:
    summary["autoencoder"] = pick("autoencoder", ("psnr", "kl", "latent_shift", "latent_scale"))
    summary["regen_class_to_kl_latents_to_image"] = pick("flow", (*SAMPLE_SCORES, "flow_mse"))
  if "vq" in present:
    summary["tokenizer"] = pick("tokenizer", ("psnr", "codebook_usage", "perplexity"))
    summary["regen_class_to_vq_codes_to_image"] = pick("prior", (*SAMPLE_SCORES, "nll_per_token"))
    summary["direct_class_to_pixel_patches_by_maskgit"] = pick(
        "pixel_twin", (*SAMPLE_SCORES, "nll_per_token"))
  with open(os.path.join(runs, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
  print(json.dumps(summary, indent=2))


if __name__ == "__main__":
  main(sys.argv[1])
