"""Collects `make demo-asr`'s evaluations: speech -> phonemes -> text (regen) vs speech -> text.

  python experiments/asr_demo_summary.py runs/asr
reads DIR/{recognizer,direct,p2g}/eval_<split>.json (written by `python -m regen_jax evaluate`)
for the held-out sentences (`test`) and the held-out voice (`test_voice`), prints JSON, and
writes DIR/summary.json; it refuses evaluations that cover different utterance counts. Rates
are corpus-level edit distance over reference length (can exceed 1); CER/WER compare spoken
forms (numbers spelled out), lowercase, without punctuation. Greedy, beam search (`beam_`),
beam search with the word language model (`lm_`) and with the language model over its closed
vocabulary in the recognizer's own search (`lexicon_`: the pipeline's phonemes through the
rule's pronunciations, direct's letters as vocabulary words); PocketSphinx's WER on the same
recordings.
"""

import json
import os
import platform
import sys

import jax

_RATES = ("per", "cer", "wer")


def _load(runs: str, stage: str, split: str) -> dict:
  with open(os.path.join(runs, stage, f"eval_{split}.json")) as f:
    return json.load(f)


def _rates(summary: dict) -> dict:
  """The rates of each decoding of one evaluation, its utterance count and PocketSphinx's WER on
  the same recordings where it was scored."""
  rates = {f"{prefix}{rate}": summary[f"{prefix}{rate}"]
           for prefix in ("", "beam_", "lm_", "lexicon_")
           for rate in _RATES if f"{prefix}{rate}" in summary}
  rates["utterances"] = int(summary["utterances"])
  return rates


def _pocketsphinx(evaluation: dict) -> dict:
  if evaluation["pocketsphinx_asr_utterances"] != evaluation["utterances"]:
    raise SystemExit("PocketSphinx scored other utterances than the recognizer")
  return {"wer": evaluation["pocketsphinx_asr_wer"], "utterances": int(evaluation["utterances"])}


def main(runs: str):
  recognizer = {split: _load(runs, "recognizer", split) for split in ("test", "test_voice")}
  direct = {split: _load(runs, "direct", split) for split in ("test", "test_voice")}
  p2g = _load(runs, "p2g", "test")
  summary = {
      "command": "make demo-asr",
      "device": f"{jax.devices()[0].device_kind} x{jax.device_count()} "
                f"({platform.processor() or platform.machine()})",
      "jax": jax.__version__,
      "steps": {"recognizer": recognizer["test"]["step"], "p2g": p2g["step"],
                "direct": direct["test"]["step"]},
      "regen_speech_to_phonemes_to_text": {s: _rates(r) for s, r in recognizer.items()},
      "direct_speech_to_text": {s: _rates(r) for s, r in direct.items()},
      "pocketsphinx_on_the_same_recordings": {s: _pocketsphinx(r) for s, r in recognizer.items()},
      "p2g_from_rule_phonemes_test": {k: p2g[k] for k in ("cer", "wer", "lm_cer", "lm_wer")},
  }
  for split in recognizer:
    if recognizer[split]["utterances"] != direct[split]["utterances"]:
      raise SystemExit(f"{split}: regen and direct were scored on different utterance counts")
  with open(os.path.join(runs, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
  print(json.dumps(summary, indent=2))


if __name__ == "__main__":
  main(sys.argv[1])
