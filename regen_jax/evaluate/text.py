"""Recognition scores: Levenshtein distance; corpus-level word, character and phoneme error rates.

Every rate is total edits over total reference length across the corpus (not a mean of per-
utterance rates), so long utterances weigh more, as in the usual WER definition. Rates can exceed
1: an empty hypothesis scores exactly 1, a hypothesis with extra insertions more.
"""

import re
import unicodedata
from typing import Sequence

import numpy as np

from regen_jax.abstractions.phonemes import PAD, symbol_to_id


def edit_distance(a: Sequence, b: Sequence) -> int:
  """Fewest insertions, deletions and substitutions turning `a` into `b` (hashable elements).

  One vectorised pass per element of `a`: after substitutions and deletions give C, insertions
  give D[j] = min_{k<=j} C[k] + (j - k) = j + cummin(C - k).
  """
  ids: dict = {}
  a_ids = np.array([ids.setdefault(x, len(ids)) for x in a], np.int64)
  b_ids = np.array([ids.setdefault(x, len(ids)) for x in b], np.int64)
  positions = np.arange(len(b_ids) + 1)
  row = positions
  for i, x in enumerate(a_ids, 1):
    best = np.concatenate([[i], np.minimum(row[:-1] + (b_ids != x), row[1:] + 1)])
    row = positions + np.minimum.accumulate(best - positions)
  return int(row[-1])


def error_rate(references: list[Sequence], hypotheses: list[Sequence]) -> float:
  """Total edit distance over total reference length, across paired utterances."""
  if len(references) != len(hypotheses):
    raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
  total = sum(len(r) for r in references)
  if total == 0:
    raise ValueError("error rate is undefined: every reference is empty")
  return sum(edit_distance(r, h) for r, h in zip(references, hypotheses)) / total


def normalize_text(text: str) -> str:
  """Lowercase, accents stripped, punctuation -> space except apostrophes inside words.

  So "Don't -- stop!" -> "don't stop" and "well-known" -> "well known"; whitespace runs become
  one space. Both sides of a comparison go through this, so casing and punctuation never count.
  """
  text = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
  text = "".join(c for c in text if not unicodedata.combining(c)).lower()
  text = re.sub(r"[^\w\s']|_", " ", text)
  text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)  # quotes, not contractions
  return " ".join(text.split())


def word_error_rate(ref_texts: list[str], hyp_texts: list[str]) -> float:
  """WER on the words of `normalize_text`."""
  return error_rate([normalize_text(t).split() for t in ref_texts],
                    [normalize_text(t).split() for t in hyp_texts])


def char_error_rate(ref_texts: list[str], hyp_texts: list[str]) -> float:
  """CER on the characters of `normalize_text`, single spaces between words included."""
  return error_rate([normalize_text(t) for t in ref_texts], [normalize_text(t) for t in hyp_texts])


def _unpadded(ids: Sequence[int]) -> list[int]:
  return [int(i) for i in ids if i != symbol_to_id[PAD]]


def phoneme_error_rate(ref_ids: list[Sequence[int]], hyp_ids: list[Sequence[int]]) -> float:
  """PER on phoneme-table id sequences: every symbol counts except "<pad>" (id 0), which is dropped.

  Word boundaries and pauses count like phonemes, since phoneme-to-grapheme needs them to spell
  the words; stress digits count too (AH0 vs AH1 is a substitution).
  """
  return error_rate([_unpadded(r) for r in ref_ids], [_unpadded(h) for h in hyp_ids])
