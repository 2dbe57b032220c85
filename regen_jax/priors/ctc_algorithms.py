"""CTC (Graves et al. 2006): loss, exact sequence scores and decoding.

Id 0 is the CTC blank: a symbol table's padding id ("<pad>"), which is never a target, doubles
as it. A frame-level path (one id per frame) reads as a label sequence by collapsing repeats and
then dropping blanks, so "a a - a b" -> "a a b"; a label sequence's probability sums over its paths.
Decoders read normalised log-probabilities (jax.nn.log_softmax of the logits) of one utterance,
shape (T, V), of which the first `length` frames are real.
"""

import heapq
import math
from typing import Protocol, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

BLANK = 0


class LabelScorer(Protocol):
  """A score beam search adds to the frames' log-probability of a label sequence (e.g. a word
  language model, `priors/word_lm.py`), computed label by label from a state."""

  def start(self): ...

  def extend(self, state, label: int) -> tuple[object, float]:
    """The state after appending `label`, and the score that adds."""

  def finish(self, state) -> float:
    """The score of ending the sequence in `state`."""

  def total(self, labels: Sequence[int]) -> float:
    """The whole score of a label sequence: the extensions' plus the finish."""


def _paddings(lengths: jax.Array, size: int) -> jax.Array:
  """1.0 where a position is at or past its row's length: optax takes paddings, not lengths."""
  return (jnp.arange(size)[None] >= jnp.asarray(lengths)[:, None]).astype(jnp.float32)


def ctc_loss(logits: jax.Array, logit_lengths: jax.Array, labels: jax.Array,
             label_lengths: jax.Array) -> jax.Array:
  """(B,) negative log-likelihood of right-padded `labels` (B, L) given `logits` (B, T, V).

  An impossible target (more labels, plus blanks between repeats, than frames) costs ~1e5 rather
  than inf: optax's log(0) stand-in.
  """
  return optax.ctc_loss(logits, _paddings(logit_lengths, logits.shape[1]), labels,
                        _paddings(label_lengths, labels.shape[1]), blank_id=BLANK)


def required_frames(labels: jax.Array, label_lengths: jax.Array) -> jax.Array:
  """(B,) fewest frames a CTC path of each row's labels needs: one per label, plus a blank
  between equal neighbours. Rows needing more frames than they have cannot be learned."""
  position = jnp.arange(1, labels.shape[1])[None]
  repeats = (labels[:, 1:] == labels[:, :-1]) & (position < label_lengths[:, None])
  return label_lengths + repeats.sum(axis=1)


def fitting_sums(logits: jax.Array, logit_lengths: jax.Array, labels: jax.Array,
                 label_lengths: jax.Array,
                 weights: jax.Array | None = None) -> dict[str, jax.Array]:
  """CTC loss and label count summed over the rows (of weight 1) whose labels fit their frames.

  A row that cannot fit would add optax's 1e5 stand-in for an infinite loss; it is left out and
  counted instead (`rows_left_out`), so a loss of sum / labels is per label of what is learnable.
  """
  weights = jnp.ones(labels.shape[0]) if weights is None else weights
  fits = weights * (required_frames(labels, label_lengths) <= logit_lengths)
  nll = ctc_loss(logits, logit_lengths, labels, label_lengths)
  return {"ctc_sum": jnp.sum(jnp.where(fits > 0, nll, 0.0)),
          "labels": jnp.sum(fits * label_lengths), "rows_left_out": jnp.sum(weights - fits)}


def collapse(path: Sequence[int] | np.ndarray) -> list[int]:
  """Label sequence of a frame-level path: merge repeats, then drop blanks."""
  path = [int(i) for i in path]
  return [i for k, i in enumerate(path) if i != BLANK and (k == 0 or i != path[k - 1])]


def greedy_decode(scores: np.ndarray | jax.Array, length: int) -> list[int]:
  """Best-path decoding: the collapsed per-frame argmax of logits or log-probabilities (T, V)."""
  return collapse(np.asarray(scores)[:length].argmax(-1))


def _shift(log_alpha: np.ndarray, states: int) -> np.ndarray:
  """Each state's value taken from `states` earlier (log 0 before the first)."""
  return np.concatenate([np.full(states, -np.inf), log_alpha])[:len(log_alpha)]


def sequence_log_prob(log_probs: np.ndarray, length: int,
                      labels: Sequence[int] | np.ndarray) -> float:
  """Exact log P(labels | frames) by the CTC forward algorithm over the first `length` frames.

  States are the labels interleaved with blanks (- l1 - l2 ... -); a path may skip a blank only
  between two different labels. -inf when the labels cannot fit in `length` frames.
  """
  log_probs = np.asarray(log_probs, np.float64)[:length]
  labels = [int(i) for i in labels]
  states = np.full(2 * len(labels) + 1, BLANK)
  states[1::2] = labels
  can_skip = np.zeros(len(states), bool)
  can_skip[3::2] = np.array(labels[1:]) != np.array(labels[:-1])
  alpha = np.full(len(states), -np.inf)
  alpha[0] = 0.0  # before the first frame: so the first one reaches the leading blank or label 1
  for frame in log_probs:
    skip = np.where(can_skip, _shift(alpha, 2), -np.inf)
    alpha = np.logaddexp(np.logaddexp(alpha, _shift(alpha, 1)), skip) + frame[states]
  return float(np.logaddexp(alpha[-1], alpha[-2]) if labels else alpha[-1])


def _logaddexp(a: float, b: float) -> float:
  """np.logaddexp for python floats, several times faster than numpy's per scalar call."""
  high = max(a, b)
  return high if high == -math.inf else high + math.log1p(math.exp(min(a, b) - high))


def _add(beam: dict, prefix: tuple[int, ...], blank: float = -math.inf,
         label: float = -math.inf):
  """Adds path probability mass to `prefix` in `beam`: paths reaching one prefix merge."""
  if prefix in beam:
    old_blank, old_label = beam[prefix]
    blank, label = _logaddexp(old_blank, blank), _logaddexp(old_label, label)
  beam[prefix] = (blank, label)


def _extensions(frame: np.ndarray, beam: dict, beam_size: int,
                label_floor: float) -> dict[tuple, list[int]]:
  """Labels worth appending to each beam prefix: all but those the pruning would drop anyway,
  and those below `label_floor`.

  Kept: the frame's beam_size + 1 likeliest labels, and any leading to a prefix already in the
  beam (their mass merges). Any other c makes a new prefix p+c scoring at most P(p) P(c), below
  p+c' for the beam_size likelier labels c' != last(p), so it could not stay in the beam (with
  a scorer, which may favour c, this is a heuristic, as in every LM-fused CTC decoder). Of the
  likeliest, those of log-probability under `label_floor` are dropped (all but the first): a
  heuristic as well (pyctcdecode's token_min_logp), which saves most of the work.
  """
  order = np.argsort(frame[1:])[::-1][:beam_size + 1] + 1  # blank excluded
  likeliest = order[:max(1, int(np.sum(frame[order] >= label_floor)))].tolist()
  labels = {prefix: set(likeliest) for prefix in beam}
  for prefix in beam:
    if prefix and prefix[:-1] in labels:
      labels[prefix[:-1]].add(prefix[-1])
  return {prefix: sorted(symbols) for prefix, symbols in labels.items()}


def _prefix_search(log_probs: np.ndarray, beam_size: int, scorer: LabelScorer | None = None,
                   label_floor: float = -math.inf) -> list[tuple[int, ...]]:
  """CTC prefix beam search: the final beam, best first.

  Each prefix keeps log P(paths so far end in a blank) and log P(they end in its last label), so
  that a repeated label is a new label only after a blank. Beam scores sum only the paths whose
  prefixes stayed in the beam: lower bounds of the exact probabilities. A `scorer` adds its
  score of each prefix (shallow fusion) to rank the beam.
  """
  beam = {(): (0.0, -math.inf)}  # prefix -> (log P ending in a blank, log P ending in a label)
  # prefix -> (the scorer's state after it, its score)
  fused = {(): (scorer.start(), 0.0)} if scorer is not None else None
  for frame in log_probs:
    grown: dict[tuple[int, ...], tuple[float, float]] = {}
    scores = frame.tolist()  # python floats: numpy scalar arithmetic is slower per call
    for prefix, symbols in _extensions(frame, beam, beam_size, label_floor).items():
      blank, label = beam[prefix]
      total = _logaddexp(blank, label)
      last = prefix[-1] if prefix else None
      _add(grown, prefix, blank=total + scores[BLANK])
      if last is not None:
        _add(grown, prefix, label=label + scores[last])  # a repeat without a blank collapses
      for symbol in symbols:  # after the same label only via a blank, else a repeat
        _add(grown, prefix + (symbol,), label=(blank if symbol == last else total) + scores[symbol])
        if fused is not None and prefix + (symbol,) not in fused:
          state, score = fused[prefix]
          state, added = scorer.extend(state, symbol)
          fused[prefix + (symbol,)] = (state, score + added)
    rank = lambda item: -_logaddexp(*item[1]) - (fused[item[0]][1] if fused is not None else 0)
    beam = dict(heapq.nsmallest(beam_size, grown.items(), key=rank))  # sorted(...)[:beam_size]
  return list(beam)


def beam_search(log_probs: np.ndarray, length: int, beam_size: int,
                scorer: LabelScorer | None = None, label_floor: float = -math.inf) -> list[int]:
  """The most probable label sequence that prefix beam search finds, never worse than greedy.

  The final beam and the greedy decode are rescored with the exact `sequence_log_prob` (beam
  scores are lower bounds), plus the scorer's `total` when given, and the best is returned,
  earlier beam entries winning ties. So the result scores at least as well as `greedy_decode`'s,
  for every beam_size: beam_size=1 is the width-1 prefix search, which keeps a prefix over the
  frame's argmax when the prefix's paths sum to more, so it may return a more probable sequence
  than greedy, never a less probable one.
  """
  if beam_size < 1:
    raise ValueError(f"beam_size must be at least 1, got {beam_size}")
  log_probs = np.asarray(log_probs, np.float64)[:length]
  candidates = _prefix_search(log_probs, beam_size, scorer, label_floor) + [
      tuple(greedy_decode(log_probs, length))]
  score = lambda c: sequence_log_prob(log_probs, length, c) + (
      scorer.total(c) if scorer is not None else 0.0)
  return list(max(candidates, key=score))


def batch_decode(log_probs: np.ndarray | jax.Array, lengths: Sequence[int] | np.ndarray,
                 beam_size: int | None = None,
                 scorer: LabelScorer | None = None,
                 label_floor: float = -math.inf) -> list[list[int]]:
  """Label sequences of a batch (B, T, V): greedy when beam_size is None, else beam search
  (fused with `scorer`'s score when given, extending prefixes by the labels of log-probability
  at least `label_floor`, and always by the likeliest)."""
  log_probs, lengths = np.asarray(log_probs), np.asarray(lengths)
  if beam_size is None:
    if scorer is not None:
      raise ValueError("a scorer needs beam search: give beam_size")
    return [greedy_decode(row, int(n)) for row, n in zip(log_probs, lengths)]
  return [beam_search(row, int(n), beam_size, scorer, label_floor)
          for row, n in zip(log_probs, lengths)]
