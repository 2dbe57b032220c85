"""Monotonic alignment of a symbol sequence to frames, and the length regulator.

Monotonic alignment search (MAS, Glow-TTS) finds the most likely monotonic path of frames
through the symbols under unit-variance Gaussians around each symbol's predicted mean frame
(the log-likelihood summed over the frame's features, as in Glow-TTS: a mean over them would make
the prior below n_features times stronger), plus a static beta-binomial prior near the diagonal; the path gives each symbol its frame count
(duration). The length regulator repeats each symbol's state for its frames.
"""

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln

_NEG = -1e9


def gaussian_log_likelihood(prior_mean, mel):
  """log N(mel frame j; prior_mean of phoneme i, I) for every pair, up to a constant: (B, P, F)."""
  squared = (jnp.sum(prior_mean ** 2, -1)[:, :, None] + jnp.sum(mel ** 2, -1)[:, None, :]
             - 2 * jnp.einsum("bpm,bfm->bpf", prior_mean, mel))
  return -0.5 * squared


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


def frame_symbols(durations, max_frames: int):
  """(B, max_frames) index of the symbol each frame belongs to under `durations` (B, P) (past
  the last symbol's frames: P - 1, masked by the callers)."""
  ends = jnp.cumsum(durations, axis=1)
  frame = jnp.arange(max_frames)
  index = jax.vmap(lambda e: jnp.searchsorted(e, frame, side="right"))(ends)
  return jnp.minimum(index, durations.shape[1] - 1)


def length_regulate(states, durations, max_frames: int):
  """Repeats phoneme i's state durations[i] times: (B, F, width) and the frame counts (B,)."""
  index = frame_symbols(durations, max_frames)
  frames = jnp.take_along_axis(states, index[..., None], axis=1)
  lengths = jnp.minimum(durations.sum(1), max_frames)
  return frames * (jnp.arange(max_frames)[None, :, None] < lengths[:, None, None]), lengths


def predicted_durations(log_durations, phoneme_lengths, pace=1.0):
  """Inference durations: rounded predictions divided by `pace` (> 1 speaks faster), at least
  one frame for each real phoneme."""
  real = jnp.arange(log_durations.shape[1])[None] < phoneme_lengths[:, None]
  frames = jnp.maximum(jnp.round(jnp.exp(log_durations) / pace), 1)
  return jnp.where(real, frames, 0).astype(jnp.int32)
