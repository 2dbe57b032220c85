"""Collects `make demo-video`'s evaluations: class + motion -> clip and first 4 frames -> next 12,
by one MaskGIT model over the causal tokenizer's FSQ codes (regen) and over pixel patches
(direct), on the test split.

  python experiments/video_demo_summary.py runs/video
reads DIR/{tokenizer,classifier,prior,direct}/eval_test.json (written by `python -m regen_jax
evaluate`), measures each stage's training FLOPs (XLA cost analysis of its train step × its
steps), prints JSON and writes DIR/summary.json.
"""

import json
import os
import platform
import sys

import jax

from regen_jax.core import loop
from regen_jax.core import workdir as workdir_lib

_STAGES = ("tokenizer", "classifier", "prior", "direct")
_SAMPLE_SCORES = ("item_accuracy", "frechet_distance", "trajectory_error",
                  "trajectory_error_other_row", "frames_psnr", "frames_ssim",
                  "classes_nll_per_token", "frames_nll_per_token")


def _load(path: str) -> dict:
  with open(path) as f:
    return json.load(f)


def main(runs: str):
  evaluations = {stage: _load(os.path.join(runs, stage, "eval_test.json")) for stage in _STAGES}
  flops = {stage: loop.training_flops(workdir_lib.require_saved_config(
      os.path.join(runs, stage)))["total"] for stage in ("tokenizer", "prior", "direct")}
  tokenizer, prior = evaluations["tokenizer"], evaluations["prior"]
  saved_prior = workdir_lib.require_saved_config(os.path.join(runs, "prior"))
  summary = {
      "command": "make demo-video",
      "device": f"{jax.devices()[0].device_kind} x{jax.device_count()} "
                f"({platform.processor() or platform.machine()})",
      "jax": jax.__version__,
      "dataset": saved_prior.dataset,
      "steps": {stage: e["step"] for stage, e in evaluations.items()},
      "training_tflops": {stage: round(value / 1e12, 2) for stage, value in flops.items()},
      "test_rows_sampled_per_task": saved_prior.eval_samples,
      "tokenizer": {key: tokenizer[key] for key in ("psnr", "camera_clip_psnr", "codebook_usage",
                                                    "perplexity")},
      "classifier_exact_accuracy_on_real_clips": evaluations["classifier"]["accuracy"],
      "regen": {key: prior[key] for key in _SAMPLE_SCORES},
      "direct": {key: evaluations["direct"][key] for key in _SAMPLE_SCORES},
      "repeat_last_context_frame": {"frames_psnr": prior["frames_repeat_last_psnr"],
                                    "frames_ssim": prior["frames_repeat_last_ssim"]},
  }
  print(json.dumps(summary, indent=1))
  with open(os.path.join(runs, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1)


if __name__ == "__main__":
  main(sys.argv[1] if len(sys.argv) > 1 else "runs/video")
