"""Collects `make demo-tts`'s evaluations: text -> phonemes -> mel -> wave (regen) vs direct.

  python experiments/tts_demo_summary.py runs/tts
reads DIR/{acoustic,vocoder,direct}/eval_test.json (written by `python -m regen_jax
evaluate`), prints JSON, and writes DIR/summary.json. Every system is scored on the same held-out
utterances (their count is in `utterances`): ASR-WER by PocketSphinx against the text's spoken
form; MCD in dB over c1..c13 (SPTK's cepstrum convention) and mel L1 in natural-log mel units,
both on the DTW path between synthesized and recorded speech; length ratio = synthesized frames
over recorded frames.
"""

import json
import os
import platform
import sys

import jax


def _scores(evaluation: dict, prefix: str, wer_key: str) -> dict:
  return {"asr_wer": evaluation[wer_key], "mcd": evaluation[f"{prefix}mcd"],
          "mel_l1_dtw": evaluation[f"{prefix}mel_l1_dtw"],
          "length_ratio": evaluation[f"{prefix}length_ratio"]}


def main(runs: str):
  stages = {}
  for stage in ("acoustic", "vocoder", "direct"):
    with open(os.path.join(runs, stage, "eval_test.json")) as f:
      stages[stage] = json.load(f)
  acoustic, vocoder, direct = stages["acoustic"], stages["vocoder"], stages["direct"]
  counts = {acoustic["pipeline_asr_utterances"], acoustic["utterances"],
            direct["direct_asr_utterances"], direct["utterances"],
            vocoder["recordings_asr_utterances"], vocoder["vocoder_utterances"]}
  if len(counts) != 1:
    raise SystemExit(f"the evaluations cover different numbers of utterances: {sorted(counts)}")
  with open(os.path.join(runs, "acoustic", "config.json")) as f:
    dataset = json.load(f)["dataset"]
  summary = {
      "command": "make demo-tts",
      "device": f"{jax.devices()[0].device_kind} x{jax.device_count()} "
                f"({platform.processor() or platform.machine()})",
      "jax": jax.__version__,
      "dataset": dataset,
      "split": acoustic["split"],
      "utterances": counts.pop(),
      "steps": {stage: stages[stage]["step"] for stage in stages},
      "recordings_asr_wer": vocoder["recordings_asr_wer"],
      "vocoder_resynthesis": {
          name: {"asr_wer": vocoder[f"{name}_asr_wer"], "mcd": vocoder[f"{name}_mcd"],
                 "mel_l1_dtw": vocoder[f"{name}_mel_l1_dtw"]}
          for name in ("vocoder", "griffin_lim")},
      "vocoder_times_real_time": vocoder["times_real_time"],
      "end_to_end_from_text": {
          "regen_text_to_mel_to_wave": _scores(acoustic, "pipeline_", "pipeline_asr_wer"),
          "direct_text_to_wave": _scores(direct, "", "direct_asr_wer")},
      "regen_text_to_mel": {"mcd": acoustic["mcd"], "mel_l1_dtw": acoustic["mel_l1_dtw"],
                            "length_ratio": acoustic["length_ratio"]},
      "alignment_prior_decided": {"regen": acoustic["prior_decided"],
                                  "direct": direct["prior_decided"]},
  }
  with open(os.path.join(runs, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
  print(json.dumps(summary, indent=2))


if __name__ == "__main__":
  main(sys.argv[1])
