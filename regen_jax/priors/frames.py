"""Padded frame sequences (B, F, features): masks and per-feature standardisation."""

import jax.numpy as jnp


def frame_mask(num_frames, max_frames: int):
  return (jnp.arange(max_frames)[None] < num_frames[:, None]).astype(jnp.float32)


def statistics(frames, num_frames) -> dict:
  """Per-feature mean and standard deviation over real frames (a data-dependent init; the
  statistics travel with the checkpoints as model state)."""
  mask = frame_mask(num_frames, frames.shape[1])[..., None]
  count = mask.sum((0, 1))
  mean = (frames * mask).sum((0, 1)) / count
  variance = (((frames - mean) ** 2) * mask).sum((0, 1)) / count
  return {"mean": mean, "std": jnp.sqrt(variance) + 0.1}


def standardize(frames, stats):
  """Unit-variance features: e.g. log-mel silence (-11.5) no longer dominates Gaussian scores."""
  return (frames - stats["mean"]) / stats["std"]


def unstandardize(frames, stats):
  return frames * stats["std"] + stats["mean"]
