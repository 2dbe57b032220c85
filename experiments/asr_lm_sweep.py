"""Chooses the word language model's weight and word bonus on the validation sentences, for the
regen pipeline and the direct baseline at once (they share the setting, `language_model` in
configs/asr/recognizer.py).

  python experiments/asr_lm_sweep.py runs/asr [--weights 0.3,0.5,0.8] [--bonuses 0,1,2] \
      [--decoding lm|lexicon] [--beam-size N] [--label-floor F]
reads the trained DIR/{recognizer,direct} (as `make demo-asr` leaves them), transcribes their
`validation` split with the LM fused in (`--decoding`, a Recognizer.transcripts decoding) for
every pair (at the config's beam width and `beam_label_floor`, or N and F; F = -inf: none),
and prints JSON last, after the stages' progress lines (WER and decoding seconds per pair and
system, and the pair of lowest summed WER). Test is not read.
"""

import argparse
import json
import platform
import sys
import time

import jax

from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.evaluate import text as text_metrics
from regen_jax.stages import pairing


def _wers(runs: str, weights, bonuses, decoding: str, beam_size: int | None,
          label_floor: float | None) -> tuple[dict, dict, int]:
  """{(weight, bonus): {system: validation WER}}, the same of decoding seconds, and the
  utterance count."""
  results, seconds = {}, {}
  for system in ("recognizer", "direct"):
    stage, params, model_state, _ = pairing.restore_workdir(f"{runs}/{system}")
    if stage.config.eval_split != "validation":
      raise SystemExit(f"{system} was trained to evaluate on {stage.config.eval_split}")
    spoken = [phoneme_lib.spoken_text(t) for t in stage.eval_texts]
    lm = stage.config.language_model
    width = "closed_beam_size" if decoding == "lexicon" else "beam_size"
    lm[width] = beam_size or lm[width]
    if label_floor is not None:
      stage.config.beam_label_floor = label_floor
    for weight in weights:
      for bonus in bonuses:
        if decoding == "lexicon":
          lm.closed_weight, lm.closed_word_bonus = weight, bonus
        else:
          lm.weight, lm.word_bonus = weight, bonus
        start = time.perf_counter()
        _, written = stage.transcripts(params, model_state, stage.eval_arrays, decoding)
        seconds.setdefault((weight, bonus), {})[system] = time.perf_counter() - start
        results.setdefault((weight, bonus), {})[system] = text_metrics.word_error_rate(
            spoken, written)
        print(f"{system} weight {weight} bonus {bonus}: WER "
              f"{results[(weight, bonus)][system]:.4f}", file=sys.stderr, flush=True)
  return results, seconds, len(spoken)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("runs")
  parser.add_argument("--weights", default="0.3,0.5,0.8")
  parser.add_argument("--bonuses", default="0,1,2")
  parser.add_argument("--decoding", default="lm", choices=("lm", "lexicon"))
  parser.add_argument("--beam-size", type=int, default=None)
  parser.add_argument("--label-floor", type=float, default=None)
  args = parser.parse_args()
  floats = lambda text: [float(v) for v in text.split(",")]
  results, seconds, utterances = _wers(args.runs, floats(args.weights), floats(args.bonuses),
                                       args.decoding, args.beam_size, args.label_floor)
  best = min(results, key=lambda pair: sum(results[pair].values()))
  print(json.dumps({
      "command": "python experiments/asr_lm_sweep.py " + " ".join(sys.argv[1:]),
      "device": f"{jax.devices()[0].device_kind} ({platform.processor() or platform.machine()})",
      "split": "validation", "decoding": args.decoding, "beam_size": args.beam_size or "config's",
      "label_floor": "config's" if args.label_floor is None else str(args.label_floor),
      "utterances": utterances,
      "wer": [{"weight": w, "word_bonus": b, "regen": r["recognizer"], "direct": r["direct"],
               "regen_seconds": round(seconds[(w, b)]["recognizer"], 1),
               "direct_seconds": round(seconds[(w, b)]["direct"], 1)}
              for (w, b), r in results.items()],
      "best": {"weight": best[0], "word_bonus": best[1]}}, indent=2))


if __name__ == "__main__":
  main()
