"""Video networks over clips (B, T, H, W, C): the tokenizer's encoder and decoder, causal in time,
and the evaluation clip classifier whose features are the space of the Fréchet distance. All
convolutions are (2+1)D (`CausalConv`).

Causal in time (as MAGVIT-v2's tokenizer): a convolution sees only the current and earlier frames,
time is downsampled by folding pairs of frames into one and upsampled by unfolding one into
two, and normalisation is per frame. So the tokens of frames [0, 4k) depend on those frames
alone: frame prediction's context frames fix the first slices of the token grid.
"""

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp


def _per_frame(layer, x):
  """`layer` applied to each frame of (B, T, H, W, C) as one batch of 2D frames."""
  batch, frames = x.shape[:2]
  out = layer(x.reshape(batch * frames, *x.shape[2:]))
  return out.reshape(batch, frames, *out.shape[1:])


class CausalConv(nn.Module):
  """A (2+1)D convolution (R(2+1)D, Tran et al. 2018): 3x3 in space per frame, then over the
  current and `time_kernel - 1` earlier frames. Factorised because XLA's CPU 3D convolution ran
  at ~10 GFLOP/s here (a 3x3x3 tokenizer step at batch 16 took 5.7 s), and the time part is a
  matmul over frames shifted into the channels, padded on the past side only."""
  features: int
  time_kernel: int = 3
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    x = _per_frame(nn.Conv(self.features, (3, 3), dtype=self.dtype), x)
    past = jnp.pad(x, ((0, 0), (self.time_kernel - 1, 0), (0, 0), (0, 0), (0, 0)))
    frames = x.shape[1]
    shifted = jnp.concatenate([past[:, k:k + frames] for k in range(self.time_kernel)], -1)
    return nn.Dense(self.features, dtype=self.dtype)(shifted)


def frame_norm(x, dtype):
  """GroupNorm over each frame alone: statistics over time would leak the future."""
  return _per_frame(nn.GroupNorm(num_groups=min(8, x.shape[-1]), dtype=dtype), x)


class CausalResBlock(nn.Module):
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    h = x
    for _ in range(2):
      h = CausalConv(x.shape[-1], dtype=self.dtype)(nn.swish(frame_norm(h, self.dtype)))
    return x + h


class Downsample(nn.Module):
  """Halves space, and with `fold_time` time: frames 2i and 2i + 1 fold into one (time to depth,
  so it stays causal), then a 4x4 convolution of stride 2."""
  features: int
  fold_time: bool
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    if self.fold_time:
      batch, frames, height, width, channels = x.shape
      x = x.reshape(batch, frames // 2, 2, height, width, channels).transpose(0, 1, 3, 4, 2, 5)
      x = x.reshape(batch, frames // 2, height, width, 2 * channels)
    return _per_frame(nn.Conv(self.features, (4, 4), strides=(2, 2), dtype=self.dtype), x)


class Upsample(nn.Module):
  """Doubles space, and with `unfold_time` time: frame i unfolds into frames 2i and 2i + 1
  (depth to time, causal); pixels repeat (nearest), then a causal convolution."""
  features: int
  unfold_time: bool
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    if self.unfold_time:
      batch, frames, height, width, _ = x.shape
      x = nn.Dense(2 * x.shape[-1], dtype=self.dtype)(x)
      x = x.reshape(batch, frames, height, width, 2, -1).transpose(0, 1, 4, 2, 3, 5)
      x = x.reshape(batch, 2 * frames, height, width, -1)
    x = jnp.repeat(jnp.repeat(x, 2, axis=2), 2, axis=3)
    return CausalConv(self.features, dtype=self.dtype)(x)


class Encoder(nn.Module):
  """(B, T, H, W, C) clips in [0, 1] -> (B, T / 2^K, H / 2^L, W / 2^L, code_dim):
  L = len(channels) - 1 downsamplings of space, the first K = `time_downsamplings` of time too."""
  channels: Sequence[int]
  time_downsamplings: int
  code_dim: int
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, clips):
    x = CausalConv(self.channels[0], dtype=self.dtype)(clips * 2.0 - 1.0)
    for level, features in enumerate(self.channels[1:]):
      x = Downsample(features, level < self.time_downsamplings, self.dtype)(x)
      x = CausalResBlock(self.dtype)(x)
    x = nn.swish(frame_norm(x, self.dtype))
    return nn.Conv(self.code_dim, (1, 1, 1), dtype=jnp.float32)(x)


class Decoder(nn.Module):
  """Inverse of `Encoder`: code vectors -> clips (unbounded; ~[0, 1] once trained)."""
  channels: Sequence[int]
  time_downsamplings: int
  out_channels: int
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, codes):
    x = CausalConv(self.channels[-1], dtype=self.dtype)(codes)
    for level in reversed(range(len(self.channels) - 1)):
      x = CausalResBlock(self.dtype)(x)
      x = Upsample(self.channels[level], level < self.time_downsamplings, self.dtype)(x)
    x = nn.swish(frame_norm(x, self.dtype))
    return CausalConv(self.out_channels, dtype=jnp.float32)(x)


class ClipClassifier(nn.Module):
  """Which classes a clip's items are (multi-label logits) from (2+1)D convolutions; its
  penultimate features are where the Fréchet distance of generated clips is measured (an FVD
  stand-in)."""
  num_classes: int
  channels: tuple[int, ...] = (32, 64, 64)  # a (2+1)D conv, then 2x2x2 max-pool, per entry
  feature_dim: int = 128
  frame_stride: int = 4  # every 4th frame: the items show in all, their motion in 4
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, clips):
    """Returns (logits (B, num_classes), features (B, feature_dim)) for clips in [0, 1]."""
    x = clips[:, ::self.frame_stride] * 2.0 - 1.0
    for features in self.channels:
      x = nn.relu(CausalConv(features, dtype=self.dtype)(x))
      pool = (min(2, x.shape[1]), 2, 2)
      x = nn.max_pool(x, pool, strides=pool)
    x = x.reshape(x.shape[0], -1)  # flattened: the features see where items are, and move
    features = nn.relu(nn.Dense(self.feature_dim, dtype=self.dtype)(x))
    return nn.Dense(self.num_classes, dtype=jnp.float32)(features), features.astype(jnp.float32)
