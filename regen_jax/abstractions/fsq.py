"""Finite scalar quantization (FSQ; Mentzer et al. 2023, "Finite Scalar Quantization: VQ-VAE Made
Simple", arXiv:2309.15505), after the paper's reference code.

Each channel i of a vector is bounded to `levels[i]` integer values and rounded; the codebook is
the implicit grid of their combinations, prod(levels) codes, with nothing learned, no codebook
loss and no state. Codes are normalised to [-1, 1]; an id is the code's mixed-radix index.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

_EPS = 1e-3  # keeps tanh's bound strictly inside the outermost rounding bins


def codebook_size(levels) -> int:
  return math.prod(levels)


def _half_width(levels):
  return np.asarray(levels) // 2


def _basis(levels):
  """Place values of the mixed-radix ids: channel 0 varies fastest."""
  return np.cumprod((1, *levels[:-1]))


def bound(z, levels):
  """(..., len(levels)) -> values that round to exactly `levels[i]` integers per channel.

  An even number of levels has no centre value: shifting by half a level (and tanh's argument by
  the matching amount, so that bound(0) rounds to 0) makes the range [-L/2, L/2 - 1].
  """
  levels = np.asarray(levels)
  half_l = (levels - 1) * (1 - _EPS) / 2
  offset = np.where(levels % 2 == 1, 0.0, 0.5)
  shift = np.tan(offset / half_l)
  return jnp.tanh(z + shift) * half_l - offset


def quantize(z, levels):
  """The nearest grid code of `bound(z)`, normalised to [-1, 1]; gradients pass the rounding
  unchanged (straight-through)."""
  bounded = bound(z, levels)
  rounded = bounded + jax.lax.stop_gradient(jnp.round(bounded) - bounded)
  return rounded / _half_width(levels)


def codes_to_ids(codes, levels):
  """Normalised codes (..., len(levels)) -> ids (...) in [0, codebook_size(levels))."""
  half_width = _half_width(levels)
  digits = jnp.round(codes * half_width + half_width).astype(jnp.int32)
  return jnp.sum(digits * _basis(levels), axis=-1)


def ids_to_codes(ids, levels):
  """Inverse of `codes_to_ids`: ids (...) -> normalised codes (..., len(levels))."""
  digits = (ids[..., None] // _basis(levels)) % np.asarray(levels)
  half_width = _half_width(levels)
  return (digits - half_width) / half_width
