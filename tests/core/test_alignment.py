"""Monotonic alignment search, the diagonal prior and the length regulator (the durations
family), against brute force and scipy."""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from regen_jax.priors import alignment
from regen_jax.priors.durations import DurationAligner, poisson_deviance


def _best_durations(log_lik, num_phonemes, num_frames):
  """Exhaustive search over every split of the frames into num_phonemes non-empty runs."""
  best, best_score = None, -np.inf
  for cuts in itertools.combinations(range(1, num_frames), num_phonemes - 1):
    bounds = (0, *cuts, num_frames)
    score = sum(log_lik[i, bounds[i]:bounds[i + 1]].sum() for i in range(num_phonemes))
    if score > best_score:
      best, best_score = np.diff(bounds), score
  return best


def test_monotonic_alignment_search_finds_the_best_path():
  rng = np.random.default_rng(0)
  lengths = [(1, 4), (3, 3), (3, 7), (4, 9), (2, 9)]
  log_lik = rng.normal(size=(len(lengths), 4, 9)).astype(np.float32)
  durations = np.asarray(alignment.monotonic_alignment(
      jnp.asarray(log_lik), jnp.array([p for p, _ in lengths]), jnp.array([f for _, f in lengths])))
  for row, (num_phonemes, num_frames) in enumerate(lengths):
    expected = _best_durations(log_lik[row], num_phonemes, num_frames)
    np.testing.assert_array_equal(durations[row, :num_phonemes], expected)
    assert durations[row, num_phonemes:].sum() == 0


def test_diagonal_prior_is_the_beta_binomial_of_each_frame():
  num_phonemes, num_frames = 5, 9
  log_prior = np.asarray(alignment.diagonal_log_prior(
      jnp.array([num_phonemes]), jnp.array([num_frames]), 7, 11))[0]
  expected = [[scipy.stats.betabinom(num_phonemes - 1, j, num_frames + 1 - j).logpmf(k)
               for j in range(1, num_frames + 1)] for k in range(num_phonemes)]
  np.testing.assert_allclose(log_prior[:num_phonemes, :num_frames], expected, atol=1e-4)
  assert np.all(log_prior[num_phonemes:] < -1e8)  # padding phonemes are unreachable


def test_length_regulator_repeats_each_state_for_its_duration():
  states = jnp.arange(3, dtype=jnp.float32)[None, :, None] + 1  # states 1, 2, 3
  frames, lengths = alignment.length_regulate(states, jnp.array([[2, 1, 3]]), max_frames=8)
  np.testing.assert_array_equal(np.asarray(frames)[0, :, 0], [1, 1, 2, 3, 3, 3, 0, 0])
  assert int(lengths[0]) == 6
  durations = alignment.predicted_durations(jnp.array([[-5.0, 0.7, 2.0]]), jnp.array([2]))
  np.testing.assert_array_equal(np.asarray(durations), [[1, 2, 0]])  # >= 1 frame, padding 0
  paced = alignment.predicted_durations(jnp.log(jnp.array([[4.0, 8.0, 2.0]])), jnp.array([3]),
                                        pace=2.0)
  np.testing.assert_array_equal(np.asarray(paced), [[2, 4, 1]])  # twice as fast


def test_likelihood_sums_over_features_as_glow_tts():
  rng = np.random.default_rng(1)
  means, frames = rng.normal(size=(1, 3, 80)), rng.normal(size=(1, 5, 80))
  expected = -0.5 * ((means[0, :, None] - frames[0, None]) ** 2).sum(-1)
  np.testing.assert_allclose(
      alignment.gaussian_log_likelihood(jnp.asarray(means), jnp.asarray(frames))[0], expected,
      rtol=1e-4)


def test_prior_decided_share_counts_frames_placed_as_the_prior_alone_would():
  lengths, num_frames = jnp.array([4]), jnp.array([12])
  diagonal = alignment.diagonal_log_prior(lengths, num_frames, 6, 16)
  prior_only = alignment.monotonic_alignment(diagonal, lengths, num_frames)
  np.testing.assert_array_equal(np.asarray(prior_only)[0, :4], [3, 3, 3, 3])
  share = lambda d: float(DurationAligner.prior_decided(jnp.array([d]), diagonal, lengths,
                                                        num_frames))
  assert share([3, 3, 3, 3, 0, 0]) == 1.0
  assert share([9, 1, 1, 1, 0, 0]) == np.float32(4 / 12)  # frames 0-2 (symbol 0) and 11 (symbol 3) agree
  np.testing.assert_array_equal(
      np.asarray(alignment.frame_symbols(jnp.array([[2, 1, 3]]), 8))[0], [0, 0, 1, 2, 2, 2, 2, 2])


def test_poisson_deviance_is_least_at_the_mean_count():
  counts = jnp.array([1, 3, 8])
  grid = jnp.linspace(0.0, 2.5, 251)
  total = [float(poisson_deviance(jnp.full(3, g), counts).sum()) for g in grid]
  assert float(grid[int(np.argmin(total))]) == pytest.approx(np.log(4.0), abs=0.01)
  np.testing.assert_allclose(poisson_deviance(jnp.log(counts.astype(jnp.float32)), counts), 0,
                             atol=1e-5)
