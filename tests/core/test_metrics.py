"""Metrics every domain may use."""

import itertools

import numpy as np

from regen_jax.evaluate import dtw
from regen_jax.evaluate.metrics import frechet_distance


def test_frechet_distance_is_zero_for_equal_sets_and_grows_with_a_shift():
  features = np.random.default_rng(1).normal(size=(500, 8))
  assert abs(frechet_distance(features, features)) < 1e-6
  shifted = frechet_distance(features, features + 2.0)
  assert abs(shifted - 8 * 4.0) < 1e-6  # |mean shift|^2, covariances equal


def test_dtw_path_has_the_minimum_cost():
  cost = np.random.default_rng(1).uniform(size=(6, 8))
  total = np.full((7, 9), np.inf)
  total[0, 0] = 0
  for i, j in itertools.product(range(1, 7), range(1, 9)):
    total[i, j] = cost[i - 1, j - 1] + min(total[i - 1, j], total[i, j - 1], total[i - 1, j - 1])
  rows, cols = dtw.dtw_path(cost)
  assert (rows[0], cols[0], rows[-1], cols[-1]) == (0, 0, 5, 7)
  assert np.all(np.diff(rows) >= 0) and np.all(np.diff(cols) >= 0)
  assert np.isclose(cost[rows, cols].sum(), total[-1, -1])
