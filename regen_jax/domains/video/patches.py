"""The direct baseline's Y′: the clip itself, pixels quantized to `levels` (0 and 255 exact) and
grouped in (t, p, p) patches on the tokenizer's grid, so the same MaskGIT prior models pixels."""

import jax.numpy as jnp

from regen_jax.domains.video import data
from regen_jax.domains.video.tokenizer import check_clips
from regen_jax.errors import UserError
from regen_jax.stages.abstraction import Abstraction
from regen_jax.stages.specs import TokenSpec, rule_fingerprint


class ClipPatches(Abstraction):

  def __init__(self, clip_shape, patch: tuple[int, int, int], levels: int):
    if any(size % p for size, p in zip(clip_shape[:3], patch)):
      raise UserError(f"patch {patch} does not divide clips of "
                      f"{'x'.join(map(str, clip_shape[:3]))}")
    self.clip_shape, self.patch = tuple(clip_shape), tuple(patch)
    grid = tuple(size // p for size, p in zip(clip_shape[:3], patch))
    self.spec = TokenSpec(vocab_size=levels, grid=grid,
                          tokens_per_position=patch[0] * patch[1] * patch[2] * clip_shape[3],
                          name="pixels")
    self.fingerprint = rule_fingerprint(self.spec)

  @classmethod
  def from_config(cls, config):
    return cls(data.clip_shape(config.dataset, config.data_dir), tuple(config.patch),
               config.levels)

  def encode(self, clips):
    """Level round(pixel (levels - 1) / 255), so that black and white are levels exactly."""
    clips = jnp.asarray(check_clips(clips, self.clip_shape), jnp.int32)
    levels = (clips * (self.spec.vocab_size - 1) + 127) // 255
    (t, h, w), (pt, ph, pw) = self.spec.grid, self.patch
    x = levels.reshape(len(clips), t, pt, h, ph, w, pw, -1).transpose(0, 1, 3, 5, 2, 4, 6, 7)
    return x.reshape(len(clips), t, h, w, -1)

  def decode(self, tokens):
    (t, h, w), (pt, ph, pw) = self.spec.grid, self.patch
    x = tokens.reshape(len(tokens), t, h, w, pt, ph, pw, -1).transpose(0, 1, 4, 2, 5, 3, 6, 7)
    return x.reshape(len(tokens), *self.clip_shape).astype(jnp.float32) / (self.spec.vocab_size - 1)

  def decoder(self):
    return lambda weights, tokens: self.decode(tokens), {}
