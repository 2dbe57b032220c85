"""Non-autoregressive acoustic model (FastSpeech-2-like) and its aligner.

Phonemes -> transformer encoder -> per-phoneme states. Durations come from monotonic alignment
search (MAS, Glow-TTS): the encoder also predicts a per-phoneme mean mel frame `prior_mean`; the
most likely monotonic path of mel frames through the phonemes under unit-variance Gaussians
(plus a static beta-binomial prior near the diagonal) gives each phoneme its frame count. A duration predictor learns those counts; the length
regulator repeats each state for its frames; a frame decoder (transformer + conv postnet) maps
the frame states to mel frames.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

from regen_jax.models.transformer import Block

_NEG = -1e9


def sinusoids(length: int, width: int) -> np.ndarray:
  position = np.arange(length)[:, None]
  rate = np.exp(-np.log(10000.0) * np.arange(0, width, 2) / width)
  table = np.zeros((length, width), np.float32)
  table[:, 0::2], table[:, 1::2] = np.sin(position * rate), np.cos(position * rate)
  return table


class SequenceStack(nn.Module):
  """Transformer blocks over a padded sequence, with sinusoidal positions (any length)."""
  depth: int
  num_heads: int
  max_length: int
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, x, lengths):
    x = x + sinusoids(x.shape[1], x.shape[-1])[None]
    x = x.astype(self.dtype)
    for _ in range(self.depth):
      x = Block(self.num_heads, False, self.max_length, 4, self.dtype)(x, lengths)
    return nn.LayerNorm(dtype=self.dtype)(x)


class DurationPredictor(nn.Module):
  """Per-phoneme log frame count from (stop-gradient) encoder states."""
  width: int
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, x):
    for _ in range(2):
      x = nn.LayerNorm(dtype=self.dtype)(nn.relu(nn.Conv(self.width, (3,), dtype=self.dtype)(x)))
    return nn.Dense(1, dtype=jnp.float32)(x)[..., 0]


class PhonemeEncoder(nn.Module):
  """(phoneme ids, lengths, voice) -> (states (B, P, width), prior_mean (B, P, n_mels), log_durations)."""
  num_symbols: int
  num_voices: int
  n_mels: int
  width: int
  depth: int
  num_heads: int
  max_phonemes: int
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, phonemes, lengths, voice):
    x = nn.Embed(self.num_symbols, self.width)(phonemes)
    x = x + nn.Embed(self.num_voices, self.width)(voice)[:, None]
    states = SequenceStack(self.depth, self.num_heads, self.max_phonemes, self.dtype)(x, lengths)
    prior_mean = nn.Dense(self.n_mels, dtype=jnp.float32, name="prior_mean")(states)
    log_durations = DurationPredictor(self.width, self.dtype)(jax.lax.stop_gradient(states))
    return states, prior_mean, log_durations


class FrameDecoder(nn.Module):
  """Length-regulated states (B, F, width) -> mel frames (B, F, n_mels), with a conv postnet."""
  n_mels: int
  depth: int
  num_heads: int
  max_frames: int
  postnet_channels: int
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, frames, lengths):
    x = SequenceStack(self.depth, self.num_heads, self.max_frames, self.dtype)(frames, lengths)
    mel = nn.Dense(self.n_mels, dtype=jnp.float32)(x)
    y = mel.astype(self.dtype)
    for _ in range(3):
      y = jnp.tanh(nn.Conv(self.postnet_channels, (5,), dtype=self.dtype)(y))
    return mel + nn.Conv(self.n_mels, (5,), dtype=jnp.float32)(y)


def gaussian_log_likelihood(prior_mean, mel):
  """log N(mel frame j; prior_mean of phoneme i, I) per mel bin, for every pair: (B, P, F)."""
  squared = (jnp.sum(prior_mean ** 2, -1)[:, :, None] + jnp.sum(mel ** 2, -1)[:, None, :]
             - 2 * jnp.einsum("bpm,bfm->bpf", prior_mean, mel))
  return -0.5 * squared / mel.shape[-1]


def diagonal_log_prior(num_phonemes, num_frames, max_phonemes: int, max_frames: int,
                       scaling: float = 1.0):
  """log P(phoneme i | frame j) of a beta-binomial centred on the diagonal: (B, P, F).

  The static alignment prior of FastPitch / "One TTS Alignment to Rule Them All" (Badlani et
  al. 2021): phoneme k of n = P-1 at frame j of F has a = scaling * j, b = scaling * (F + 1 - j).
  Early in training, when the learned means do not yet tell phonemes apart, it keeps MAS near
  the diagonal instead of letting a few symbols swallow most frames; the likelihood then
  refines it.
  """
  lbeta = lambda x, y: gammaln(x) + gammaln(y) - gammaln(x + y)
  k = jnp.arange(max_phonemes, dtype=jnp.float32)[None, :, None]
  j = jnp.arange(1, max_frames + 1, dtype=jnp.float32)[None, None, :]
  n = (num_phonemes - 1).astype(jnp.float32)[:, None, None]
  frames = num_frames.astype(jnp.float32)[:, None, None]
  a, b = scaling * j, scaling * jnp.maximum(frames + 1 - j, 1)
  log_choose = gammaln(n + 1) - gammaln(k + 1) - gammaln(jnp.maximum(n - k, 0) + 1)
  log_prior = log_choose + lbeta(k + a, jnp.maximum(n - k, 0) + b) - lbeta(a, b)
  return jnp.where(k <= n, log_prior, _NEG)


def _monotonic_alignment_one(log_lik, num_phonemes, num_frames):
  """Phoneme index of each frame on the most likely monotonic path; -1 past `num_frames`.

  Every phoneme gets at least one frame, frames advance one phoneme at most; the path starts at
  (0, 0) and ends at (num_phonemes - 1, num_frames - 1).
  """
  max_phonemes, max_frames = log_lik.shape
  phoneme = jnp.arange(max_phonemes)

  def forward(best, frame_log_lik):
    from_previous_phoneme = jnp.concatenate([jnp.full((1,), _NEG), best[:-1]])
    best = frame_log_lik + jnp.maximum(best, from_previous_phoneme)
    return best, best

  first = jnp.where(phoneme == 0, log_lik[:, 0], _NEG)
  _, rest = jax.lax.scan(forward, first, log_lik[:, 1:].T)
  best = jnp.concatenate([first[None], rest])  # (F, P)

  def backward(current, frame):
    active = frame < num_frames
    current = jnp.where(frame == num_frames - 1, num_phonemes - 1, current)
    previous = best[jnp.maximum(frame - 1, 0)]
    step_back = (current > 0) & ((current == frame) |
                                 (previous[jnp.maximum(current - 1, 0)] > previous[current]))
    following = jnp.where(active & step_back, current - 1, current)
    return following, jnp.where(active, current, -1)

  _, path = jax.lax.scan(backward, jnp.asarray(num_phonemes - 1), jnp.arange(max_frames),
                         reverse=True)
  return path


def monotonic_alignment(log_lik, phoneme_lengths, frame_lengths):
  """Durations (B, P) int32 of the most likely monotonic alignment (no gradient)."""
  log_lik = jax.lax.stop_gradient(log_lik)
  paths = jax.vmap(_monotonic_alignment_one)(log_lik, phoneme_lengths, frame_lengths)
  max_phonemes = log_lik.shape[1]
  return jax.vmap(lambda p: jnp.bincount(jnp.where(p < 0, max_phonemes, p),
                                         length=max_phonemes + 1)[:max_phonemes])(paths)


def length_regulate(states, durations, max_frames: int):
  """Repeats phoneme i's state durations[i] times: (B, F, width) and the frame counts (B,)."""
  ends = jnp.cumsum(durations, axis=1)
  frame = jnp.arange(max_frames)
  index = jax.vmap(lambda e: jnp.searchsorted(e, frame, side="right"))(ends)
  index = jnp.minimum(index, states.shape[1] - 1)
  frames = jnp.take_along_axis(states, index[..., None], axis=1)
  lengths = jnp.minimum(ends[:, -1], max_frames)
  return frames * (frame[None, :, None] < lengths[:, None, None]), lengths


def predicted_durations(log_durations, phoneme_lengths):
  """Inference durations: rounded predictions, at least one frame for each real phoneme."""
  real = jnp.arange(log_durations.shape[1])[None] < phoneme_lengths[:, None]
  return jnp.where(real, jnp.maximum(jnp.round(jnp.exp(log_durations)), 1), 0).astype(jnp.int32)
