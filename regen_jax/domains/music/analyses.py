"""How often the template rule's chord roots agree with the expert Roman-numeral analyses that
ship in the `music21` wheel (`corpus/bach/choraleAnalyses/*.rntxt`, 20 chorales, by Andrew
Jones and Dmitri Tymoczko).

Each beat the rule names a chord on is compared with the analysis's chord sounding at that
beat's start; beats the rule calls "other" or "rest" are counted apart.
"""

import glob
import os

import numpy as np

from regen_jax.domains.music import chords as chords_lib
from regen_jax.domains.music import corpus


def analysis_files() -> list[str]:
  music21 = corpus._music21()  # pylint: disable=protected-access
  root = os.path.join(os.path.dirname(music21.__file__), "corpus", "bach", "choraleAnalyses")
  return sorted(glob.glob(os.path.join(root, "*.rntxt")))


def _bwv(path: str) -> str:
  with open(path, encoding="utf-8") as f:
    return next(line.split(":", 1)[1].strip() for line in f if line.startswith("BWV:"))


def _expert_roots(path: str) -> tuple[np.ndarray, np.ndarray]:
  """(start sixteenth, root pitch class) of each Roman numeral of an analysis, in time order."""
  analysis = corpus._music21().converter.parse(path, format="romanText")  # pylint: disable=protected-access
  numerals = list(analysis.recurse().getElementsByClass("RomanNumeral"))
  starts = [round(float(n.getOffsetInHierarchy(analysis)) * corpus.STEPS_PER_QUARTER)
            for n in numerals]
  return np.asarray(starts), np.asarray([n.root().pitchClass for n in numerals])


def chorale_agreement(chorale: corpus.Chorale, path: str) -> dict:
  starts, roots = _expert_roots(path)
  symbols = chords_lib.chords(chorale)
  agree = named = unnamed = 0
  for symbol, start in zip(symbols, chords_lib.beat_starts(chorale)):
    at = np.searchsorted(starts, start, side="right") - 1
    degree = chords_lib.root(symbol)
    if at < 0:
      continue  # before the analysis's first chord
    if degree is None:
      unnamed += 1
      continue
    named += 1
    agree += (chorale.tonic + degree) % 12 == roots[at]
  return {"beats_named": named, "beats_other_or_rest": unnamed,
          "root_agreement": round(agree / max(named, 1), 4)}


def agreement() -> dict:
  """Per analysed chorale and over all their beats: the share of the rule's roots that the
  experts' analyses share."""
  per_chorale, left_out = {}, {}
  for path in analysis_files():
    name = f"bwv{_bwv(path)}"
    try:
      chorale = corpus.read_chorale(f"bach/{name}")
    except (corpus.GridError, LookupError) as e:
      left_out[name] = str(e)
      continue
    per_chorale[name] = chorale_agreement(chorale, path)
  named = sum(c["beats_named"] for c in per_chorale.values())
  agreed = sum(c["beats_named"] * c["root_agreement"] for c in per_chorale.values())
  unnamed = sum(c["beats_other_or_rest"] for c in per_chorale.values())
  return {"root_agreement": round(agreed / named, 4), "beats_named": named,
          "share_other_or_rest": round(unnamed / (named + unnamed), 4),
          "median_chorale_agreement": float(np.median(
              [c["root_agreement"] for c in per_chorale.values()])),
          "chorales": per_chorale, "left_out": left_out}
