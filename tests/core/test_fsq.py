import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from regen_jax.abstractions import fsq

LEVELS = [(8, 5, 5, 5), (5, 3, 3), (7, 6, 2)]


def _sweep(levels, n=4001):
  """z from -6 to 6 in every channel: past where tanh saturates."""
  return jnp.repeat(jnp.linspace(-6.0, 6.0, n)[:, None], len(levels), axis=1)


@pytest.mark.parametrize("levels", LEVELS)
def test_codes_are_the_grid_and_quantizing_them_round_trips(levels):
  ids = jnp.arange(fsq.codebook_size(levels))
  codes = fsq.ids_to_codes(ids, levels)
  half_width = np.asarray(levels, np.float32) // 2
  # Every combination of per-channel integers k in [-(L // 2), L - 1 - L // 2], channel 0 fastest.
  digits = np.array([d[::-1] for d in itertools.product(*[range(n) for n in levels[::-1]])])
  np.testing.assert_array_equal(codes, (digits - half_width).astype(np.float32) / half_width)
  np.testing.assert_array_equal(fsq.codes_to_ids(codes, levels), ids)
  # What `quantize` puts out is such a code, bit for bit.
  quantized = fsq.quantize(_sweep(levels), levels)
  np.testing.assert_array_equal(fsq.ids_to_codes(fsq.codes_to_ids(quantized, levels), levels),
                                quantized)


@pytest.mark.parametrize("levels", LEVELS)
def test_rounding_passes_the_gradient_unchanged(levels):
  z = jax.random.normal(jax.random.key(0), (64, len(levels))) * 2
  half_width = np.asarray(levels) // 2
  through_rounding = jax.grad(lambda z: jnp.sum(fsq.quantize(z, levels)))(z)
  without_rounding = jax.grad(lambda z: jnp.sum(fsq.bound(z, levels) / half_width))(z)
  np.testing.assert_array_equal(through_rounding, without_rounding)
  assert jnp.all(without_rounding > 0)


@pytest.mark.parametrize("levels", LEVELS)
def test_each_channel_takes_exactly_its_number_of_levels(levels):
  quantized = np.asarray(fsq.quantize(_sweep(levels), levels))
  assert [len(np.unique(quantized[:, i])) for i in range(len(levels))] == list(levels)
  assert quantized.min() >= -1 and quantized.max() <= 1
  np.testing.assert_array_equal(fsq.quantize(jnp.zeros((1, len(levels))), levels), 0)


@pytest.mark.parametrize("levels", LEVELS)
def test_ids_and_codes_are_inverse_and_cover_the_codebook(levels):
  size = fsq.codebook_size(levels)
  assert size == int(np.prod(levels))
  ids = jnp.arange(size)
  codes = fsq.ids_to_codes(ids, levels)
  assert len({tuple(code) for code in np.asarray(codes).tolist()}) == size  # one code per id
  np.testing.assert_array_equal(fsq.codes_to_ids(codes, levels), ids)
  z = jax.random.normal(jax.random.key(1), (4096, len(levels))) * 3
  grid_ids = fsq.codes_to_ids(fsq.quantize(z, levels), levels)
  assert int(grid_ids.min()) >= 0 and int(grid_ids.max()) < size
