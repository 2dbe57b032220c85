import itertools

import numpy as np
import pytest
from scipy.special import log_softmax

from regen_jax.priors import ctc_algorithms as ctc


def _brute_force_log_prob(log_probs: np.ndarray, labels: list[int]) -> float:
  """log of the summed probability of every frame-level path that collapses to `labels`."""
  paths = itertools.product(range(log_probs.shape[1]), repeat=len(log_probs))
  scores = [log_probs[np.arange(len(path)), path].sum() for path in paths
            if ctc.collapse(path) == labels]
  return float(np.logaddexp.reduce(scores)) if scores else -np.inf


def _log_probs(rng: np.random.Generator, frames: int, vocab: int, scale: float = 2.0) -> np.ndarray:
  return log_softmax(scale * rng.normal(size=(frames, vocab)), axis=-1)


def _table(*rows: list[float]) -> np.ndarray:
  """Per-frame probabilities -> log-probabilities, zeros made tiny so logs stay finite."""
  probs = np.maximum(np.array(rows, np.float64), 1e-12)
  return np.log(probs / probs.sum(-1, keepdims=True))


def test_loss_matches_brute_force_enumeration_of_alignments():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(3, 4, 3)).astype(np.float32)
  labels = np.array([[1, 1], [2, 1], [2, 0]])  # a repeat needs a blank between; right-padded
  logit_lengths, label_lengths = np.array([4, 4, 3]), np.array([2, 2, 1])
  loss = np.asarray(ctc.ctc_loss(logits, logit_lengths, labels, label_lengths))
  for b in range(3):
    log_probs = log_softmax(logits[b, :logit_lengths[b]].astype(np.float64), axis=-1)
    expected = _brute_force_log_prob(log_probs, list(labels[b, :label_lengths[b]]))
    assert loss[b] == pytest.approx(-expected, abs=1e-4)
    assert ctc.sequence_log_prob(log_probs, logit_lengths[b], labels[b, :label_lengths[b]]) \
        == pytest.approx(expected, abs=1e-9)


def test_sequence_log_prob_matches_the_loss_on_longer_inputs():
  rng = np.random.default_rng(1)
  logits = rng.normal(size=(1, 12, 5)).astype(np.float32)
  labels = np.array([[3, 3, 1, 4, 2]])
  loss = float(ctc.ctc_loss(logits, np.array([10]), labels, np.array([5]))[0])
  log_probs = log_softmax(logits[0].astype(np.float64), axis=-1)
  assert -ctc.sequence_log_prob(log_probs, 10, labels[0]) == pytest.approx(loss, rel=1e-4)


def test_sequence_probabilities_sum_to_one_over_all_label_sequences():
  log_probs = _log_probs(np.random.default_rng(2), frames=4, vocab=3)
  sequences = [list(s) for n in range(5) for s in itertools.product((1, 2), repeat=n)]
  total = np.logaddexp.reduce([ctc.sequence_log_prob(log_probs, 4, s) for s in sequences])
  assert total == pytest.approx(0.0, abs=1e-9)
  assert ctc.sequence_log_prob(log_probs, 4, [1, 1, 1]) == -np.inf  # needs 5 frames
  assert ctc.sequence_log_prob(log_probs, 0, []) == 0.0


def test_greedy_collapses_repeats_then_drops_blanks():
  path = [0, 1, 1, 0, 1, 2, 2, 0, 0, 3]
  logits = 5.0 * np.eye(4)[path]
  assert ctc.greedy_decode(logits, len(path)) == [1, 1, 2, 3]
  assert ctc.greedy_decode(logits, 7) == [1, 1, 2]  # frames past the length are ignored
  assert ctc.greedy_decode(log_softmax(logits, -1), len(path)) == [1, 1, 2, 3]
  assert ctc.greedy_decode(logits, 0) == []


def test_beam_search_is_never_less_probable_than_greedy():
  rng = np.random.default_rng(3)
  gains = []
  for _ in range(50):
    log_probs = _log_probs(rng, frames=12, vocab=5)
    greedy = ctc.sequence_log_prob(log_probs, 12, ctc.greedy_decode(log_probs, 12))
    beam = ctc.sequence_log_prob(log_probs, 12, ctc.beam_search(log_probs, 12, beam_size=4))
    assert beam >= greedy
    gains.append(beam - greedy)
  assert max(gains) > 0.1  # the search finds better sequences, not only greedy's


def test_a_beam_that_keeps_every_prefix_finds_the_most_probable_sequence():
  rng = np.random.default_rng(4)
  sequences = [list(s) for n in range(6) for s in itertools.product((1, 2), repeat=n)]
  for _ in range(5):
    log_probs = _log_probs(rng, frames=5, vocab=3, scale=1.0)
    best = max(sequences, key=lambda s: ctc.sequence_log_prob(log_probs, 5, s))
    assert ctc.beam_search(log_probs, 5, beam_size=len(sequences)) == best


def _unpruned_prefix_search(log_probs: np.ndarray, beam_size: int) -> list[tuple[int, ...]]:
  """Textbook prefix beam search extending every prefix by every label."""
  beam = {(): (0.0, -np.inf)}
  for frame in log_probs:
    grown = {}
    for prefix, (blank, label) in beam.items():
      total, last = np.logaddexp(blank, label), (prefix[-1] if prefix else None)
      moves = [(prefix, total + frame[0], -np.inf)]
      moves += [(prefix, -np.inf, label + frame[last])] if prefix else []
      moves += [(prefix + (c,), -np.inf, (blank if c == last else total) + frame[c])
                for c in range(1, len(frame))]
      for key, b, n in moves:
        old_b, old_n = grown.get(key, (-np.inf, -np.inf))
        grown[key] = (np.logaddexp(old_b, b), np.logaddexp(old_n, n))
    beam = dict(sorted(grown.items(), key=lambda item: -np.logaddexp(*item[1]))[:beam_size])
  return list(beam)


def test_label_pruning_keeps_the_same_beam_as_extending_by_every_label():
  rng = np.random.default_rng(7)
  for beam_size in (1, 2, 3):
    for _ in range(5):
      log_probs = _log_probs(rng, frames=12, vocab=8)
      assert ctc._prefix_search(log_probs, beam_size) == \
          _unpruned_prefix_search(log_probs, beam_size)


class _FavouredLabel:
  """A LabelScorer adding `bonus` for every `label`."""

  def __init__(self, label: int, bonus: float):
    self.label, self.bonus = label, bonus

  def start(self):
    return None

  def extend(self, state, label):
    return state, self.bonus if label == self.label else 0.0

  def finish(self, state):
    return 0.0

  def total(self, labels):
    return sum(self.extend(None, label)[1] for label in labels)


def test_a_label_floor_leaves_out_the_labels_below_it_but_never_a_frames_likeliest():
  frame = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
  beam = {(): (0.0, -np.inf), (3,): (-1.0, -2.0)}
  assert ctc._extensions(frame, beam, 4, np.log(0.1)) == {(): [1, 2, 3], (3,): [1, 2]}
  assert ctc._extensions(frame, beam, 4, 0.0) == {(): [1, 3], (3,): [1]}  # 3 merges into (3,)
  # A scorer that favours b makes the search read "b", unless b's 0.05 is under the floor.
  log_probs = _table([0.5, 0.45, 0.05], [0.5, 0.45, 0.05])
  favours_b = _FavouredLabel(label=2, bonus=5.0)
  assert ctc.beam_search(log_probs, 2, 4, favours_b) == [2]
  assert ctc.beam_search(log_probs, 2, 4, favours_b, label_floor=np.log(0.1)) == [1]
  assert ctc.beam_search(log_probs, 2, 4, favours_b, label_floor=np.log(0.01)) == [2]


def test_beam_size_one_is_a_prefix_search_at_least_as_probable_as_greedy():
  # Frame 1's argmax makes greedy read "a b", but "a" sums three paths and is twice as likely.
  log_probs = _table([0.4, 0.6, 0.0], [0.3, 0.3, 0.4])
  assert ctc.greedy_decode(log_probs, 2) == [1, 2]
  assert ctc.beam_search(log_probs, 2, beam_size=1) == [1]
  a_a, a_blank, blank_a = 0.6 * 0.3, 0.6 * 0.3, 0.4 * 0.3
  assert ctc.sequence_log_prob(log_probs, 2, [1]) == pytest.approx(np.log(a_a + a_blank + blank_a))
  assert ctc.sequence_log_prob(log_probs, 2, [1, 2]) == pytest.approx(np.log(0.6 * 0.4))
  rng = np.random.default_rng(5)
  for _ in range(20):
    log_probs = _log_probs(rng, frames=12, vocab=5)
    assert ctc.sequence_log_prob(log_probs, 12, ctc.beam_search(log_probs, 12, 1)) >= \
        ctc.sequence_log_prob(log_probs, 12, ctc.greedy_decode(log_probs, 12))
  with pytest.raises(ValueError, match="beam_size"):
    ctc.beam_search(log_probs, 12, 0)


def test_a_wider_beam_merges_paths_that_greedy_splits():
  # Blank wins every frame, yet "a" (a-a, a-blank, blank-a: 0.4025) beats "" (0.16).
  log_probs = _table([0.4, 0.35, 0.25], [0.4, 0.35, 0.25])
  assert ctc.greedy_decode(log_probs, 2) == []
  assert ctc.beam_search(log_probs, 2, beam_size=2) == [1]


def test_batch_decode_honours_lengths():
  rng = np.random.default_rng(6)
  log_probs = np.stack([_log_probs(rng, frames=8, vocab=4) for _ in range(3)])
  lengths = np.array([8, 5, 0])
  assert ctc.batch_decode(log_probs, lengths) == [ctc.greedy_decode(log_probs[b], n)
                                                  for b, n in enumerate(lengths)]
  assert ctc.batch_decode(log_probs, lengths, beam_size=3) == [
      ctc.beam_search(log_probs[b], n, 3) for b, n in enumerate(lengths)]
  assert ctc.batch_decode(log_probs, lengths, beam_size=3)[2] == []
