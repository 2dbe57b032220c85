"""Collects `make demo-tts`'s evaluations: text -> phonemes -> mel -> wave (regen) vs direct.

  python experiments/tts_demo_summary.py runs/tts
reads DIR/{acoustic,vocoder,direct}/eval_test.json (written by `python -m regen_jax
evaluate`), prints JSON, and writes DIR/summary.json. Mel L1 is in natural-log mel units; MCD in
dB over c1..c13; both on the DTW path between synthesized and recorded held-out sentences.
"""

import json
import os
import platform
import sys

import jax


def main(runs: str):
  stages = {}
  for stage in ("acoustic", "vocoder", "direct"):
    with open(os.path.join(runs, stage, "eval_test.json")) as f:
      stages[stage] = json.load(f)
  acoustic, vocoder, direct = stages["acoustic"], stages["vocoder"], stages["direct"]
  generators = {}
  for stage in ("vocoder", "direct"):
    with open(os.path.join(runs, stage, "config.json")) as f:
      generators[stage] = json.load(f)["gan"]["generator"]
  summary = {
      "command": "make demo-tts",
      "device": f"{jax.devices()[0].device_kind} x{jax.device_count()} "
                f"({platform.processor() or platform.machine()})",
      "jax": jax.__version__,
      "split": acoustic["split"],
      "steps": {stage: stages[stage]["step"] for stage in stages},
      "generators": generators,
      "vocoder_resynthesis_mel_l1": {
          "vocoder": vocoder["resynthesis_mel_l1"],
          "griffin_lim_32_iterations": vocoder["griffin_lim_mel_l1"],
          "griffin_lim_mel_matching_32_iterations": vocoder["griffin_lim_mel_matching_mel_l1"],
          "direct_under_true_durations": direct["teacher_forced_mel_l1"]},
      "vocoder_times_real_time": vocoder["times_real_time"],
      "end_to_end_from_text": {
          "regen_text_to_mel": {"mel_l1_dtw": acoustic["mel_l1_dtw"], "mcd": acoustic["mcd"]},
          "regen_text_to_mel_to_wave": {"mel_l1_dtw": acoustic["pipeline_mel_l1_dtw"],
                                        "mcd": acoustic["pipeline_mcd"]},
          "direct_text_to_wave": {"mel_l1_dtw": direct["mel_l1_dtw"], "mcd": direct["mcd"]}},
  }
  with open(os.path.join(runs, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
  print(json.dumps(summary, indent=2))


if __name__ == "__main__":
  main(sys.argv[1])
