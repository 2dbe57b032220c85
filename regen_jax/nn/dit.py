"""A diffusion transformer (DiT, Peebles & Xie 2023): the denoiser of the flow priors.

Patchify (a `patch_size`-strided conv) -> pre-norm blocks whose LayerNorms are modulated by the
conditioning vector (adaLN-Zero: shift, scale and a residual gate per sub-layer, their
projection initialised at zero so every block starts as the identity) -> a modulated linear
head -> unpatchify. The conditioning vector is the sum of a time embedding and the condition
(`priors.conditions` prefix, averaged over its vectors), or a learned null vector where the
condition is dropped (classifier-free guidance).
"""

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from regen_jax.nn.transformer import Attention

_zeros = nn.initializers.zeros


def timestep_embedding(t, width: int, max_period: float = 10000.0):
  """Sinusoidal features of t in [0, 1] (scaled by 1000, as DiT's integer timesteps)."""
  half = width // 2
  frequencies = jnp.exp(-np.log(max_period) * jnp.arange(half) / half)
  angles = 1000.0 * t[:, None] * frequencies[None]
  return jnp.concatenate([jnp.cos(angles), jnp.sin(angles)], axis=-1)


def _modulate(x, shift, scale):
  return x * (1 + scale[:, None]) + shift[:, None]


class DiTBlock(nn.Module):
  num_heads: int
  mlp_ratio: int
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, x, c):
    width = x.shape[-1]
    modulation = nn.Dense(6 * width, kernel_init=_zeros, dtype=self.dtype, name="adaLN")(nn.silu(c))
    shift1, scale1, gate1, shift2, scale2, gate2 = jnp.split(modulation, 6, axis=-1)
    norm = lambda name: nn.LayerNorm(use_scale=False, use_bias=False, dtype=self.dtype, name=name)
    h = _modulate(norm("norm1")(x), shift1, scale1)
    x = x + gate1[:, None] * Attention(self.num_heads, False, x.shape[1], self.dtype)(h)
    h = _modulate(norm("norm2")(x), shift2, scale2)
    h = nn.Dense(width * self.mlp_ratio, dtype=self.dtype)(h)
    return x + gate2[:, None] * nn.Dense(width, dtype=self.dtype)(nn.gelu(h))


class DiT(nn.Module):
  """(x (B, H, W, C), t (B,), condition (B, width), drop (B,) bool) -> velocity (B, H, W, C).

  `drop` replaces a row's condition with the learned null condition."""
  patch_size: int
  width: int
  depth: int
  num_heads: int
  mlp_ratio: int = 4
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, t, condition, drop):
    batch, height, width, channels = x.shape
    p = self.patch_size
    h = nn.Conv(self.width, (p, p), strides=(p, p), padding="VALID", dtype=self.dtype,
                name="patchify")(x)
    grid = h.shape[1:3]
    h = h.reshape(batch, -1, self.width)
    position = self.param("position_embed", nn.initializers.normal(0.02), h.shape[1:])
    h = (h + position[None]).astype(self.dtype)

    null = self.param("null_condition", nn.initializers.normal(0.02), (self.width,))
    condition = jnp.where(drop[:, None], null[None], condition)
    time = nn.Dense(self.width, name="time_mlp_in")(timestep_embedding(t, 256))
    time = nn.Dense(self.width, name="time_mlp_out")(nn.silu(time))
    c = (time + condition).astype(self.dtype)

    for _ in range(self.depth):
      h = DiTBlock(self.num_heads, self.mlp_ratio, self.dtype)(h, c)
    shift, scale = jnp.split(nn.Dense(2 * self.width, kernel_init=_zeros, name="final_adaLN")(
        nn.silu(c)), 2, axis=-1)
    h = _modulate(nn.LayerNorm(use_scale=False, use_bias=False, dtype=self.dtype)(h), shift, scale)
    out = nn.Dense(p * p * channels, kernel_init=_zeros, dtype=jnp.float32, name="head")(h)
    out = out.reshape(batch, *grid, p, p, channels).transpose(0, 1, 3, 2, 4, 5)
    return out.reshape(batch, height, width, channels)
