"""CTC sequence models: speech -> phonemes or characters, and phonemes -> characters.

Both are one transformer stack with a CTC head (`CTCHead`, id 0 = blank) behind a front end
that sets the output rate:
- `SpeechRecognizer`: standardised log-mel frames -> stride-2 convolutions (each halves the frame
  rate; CTC needs at least one output per label, plus blanks between repeats) -> residual
  convolutions (local context, which made CTC leave its all-blank plateau sooner) -> stack.
- `PhonemeToText`: phoneme ids -> embeddings, each repeated `upsample` times with a per-copy
  embedding (a word has more letters than phonemes: "though" is DH OW1) -> stack. Every output
  attends to the whole sentence, so spelling can depend on context (there / their).
`spec_augment` is SpecAugment's frequency and time masking (Park et al. 2019) for training.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from regen_jax.models.acoustic import SequenceStack


class CTCHead(nn.Module):
  """(B, T, width) inputs with `lengths` -> (B, T, vocab_size) float32 logits."""
  vocab_size: int
  depth: int
  num_heads: int
  max_length: int
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, x, lengths):
    x = SequenceStack(self.depth, self.num_heads, self.max_length, self.dtype)(x, lengths)
    return nn.Dense(self.vocab_size, dtype=jnp.float32, name="logits")(x)


class ConvBlock(nn.Module):
  """Pre-norm residual 1-D convolution: local context the attention layers need not learn."""
  kernel_size: int
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, x, mask):
    # Padding frames are zeroed before the convolution, so they never leak into real frames.
    h = nn.LayerNorm(dtype=self.dtype)(x) * mask
    return x + nn.gelu(nn.Conv(x.shape[-1], (self.kernel_size,), dtype=self.dtype)(h)) * mask


class SpeechRecognizer(nn.Module):
  vocab_size: int
  width: int
  depth: int
  num_heads: int
  max_frames: int
  num_subsampling_convs: int = 1
  num_conv_blocks: int = 2
  conv_kernel_size: int = 5
  dtype: jnp.dtype = jnp.float32

  @property
  def frames_per_output(self) -> int:
    return 2 ** self.num_subsampling_convs

  @nn.compact
  def __call__(self, mel, num_frames):
    """(B, F, n_mels) mel and (B,) frame counts -> (logits (B, F / 2^convs, V), output lengths)."""
    x = mel.astype(self.dtype)
    for _ in range(self.num_subsampling_convs):
      x = nn.gelu(nn.Conv(self.width, (3,), strides=2, dtype=self.dtype)(x))
    if not self.num_subsampling_convs:
      x = nn.Dense(self.width, dtype=self.dtype)(x)
    lengths = -(-num_frames // self.frames_per_output)  # ceil: a partial window still has a frame
    mask = (jnp.arange(x.shape[1])[None] < lengths[:, None])[..., None].astype(self.dtype)
    for _ in range(self.num_conv_blocks):
      x = ConvBlock(self.conv_kernel_size, self.dtype)(x, mask)
    logits = CTCHead(self.vocab_size, self.depth, self.num_heads,
                     self.max_frames // self.frames_per_output, self.dtype)(x, lengths)
    return logits, lengths


class PhonemeToText(nn.Module):
  vocab_size: int
  num_symbols: int
  width: int
  depth: int
  num_heads: int
  max_phonemes: int
  upsample: int
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, phonemes, num_phonemes):
    """(B, P) ids and (B,) counts -> (logits (B, P * upsample, V), output lengths)."""
    x = nn.Embed(self.num_symbols, self.width)(phonemes)[:, :, None]
    x = x + self.param("copy_embed", nn.initializers.normal(0.02), (self.upsample, self.width))
    x = x.reshape(x.shape[0], -1, self.width)
    lengths = num_phonemes * self.upsample
    logits = CTCHead(self.vocab_size, self.depth, self.num_heads,
                     self.max_phonemes * self.upsample, self.dtype)(x, lengths)
    return logits, lengths


def _band_masks(rng, lengths, size: int, count: int, max_width):
  """(B, size) bool: `count` random bands per row, each up to `max_width` (B,) wide, inside
  the row's first `lengths` positions."""
  width_rng, start_rng = jax.random.split(rng)
  shape = (lengths.shape[0], count)
  widths = jnp.floor(jax.random.uniform(width_rng, shape) * (max_width[:, None] + 1))
  starts = jnp.floor(jax.random.uniform(start_rng, shape) * jnp.maximum(
      lengths[:, None] - widths, 0))
  position = jnp.arange(size)[None, None]
  inside = (position >= starts[..., None]) & (position < (starts + widths)[..., None])
  return inside.any(axis=1)


def spec_augment(rng, mel, num_frames, num_freq_masks: int, max_freq_width: int,
                 num_time_masks: int, max_time_fraction: float):
  """`mel` (B, F, n_mels) with random mel-bin bands and frame bands set to 0 (the mean of
  standardised log-mels); time bands are at most `max_time_fraction` of each utterance."""
  freq_rng, time_rng = jax.random.split(rng)
  batch, frames, bins = mel.shape
  freq = _band_masks(freq_rng, jnp.full((batch,), bins), bins, num_freq_masks,
                     jnp.full((batch,), max_freq_width))
  time = _band_masks(time_rng, num_frames, frames, num_time_masks,
                     jnp.floor(num_frames * max_time_fraction))
  return jnp.where(freq[:, None, :] | time[:, :, None], 0.0, mel)
