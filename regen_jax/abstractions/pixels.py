"""The rule abstraction of the direct baseline: pixels quantized to `levels`, grouped in patches.

Y' here is Y itself up to 16-level quantization (≈ 34 dB PSNR), so a prior over it is a direct
X -> Y model that shares the regen prior's transformer, budget and sampler.
"""

import jax.numpy as jnp

from regen_jax.abstractions import check_images
from regen_jax.errors import UserError


class PixelPatches:

  def __init__(self, image_shape, patch_size: int, levels: int):
    height, width, channels = image_shape
    if height % patch_size or width % patch_size:
      raise UserError(f"patch_size {patch_size} does not divide image size {height}x{width}")
    self.image_shape = tuple(image_shape)
    self.patch_size, self.vocab_size = patch_size, levels
    self.grid = (height // patch_size, width // patch_size)
    self.tokens_per_position = patch_size * patch_size * channels
    self.fingerprint = f"pixels-{height}x{width}x{channels}-p{patch_size}-l{levels}"

  def encode(self, images):
    images = jnp.asarray(check_images(images, self.image_shape), jnp.int32)
    return self._to_patches(images * self.vocab_size // 256)

  def decode(self, tokens):
    return (self._from_patches(tokens).astype(jnp.float32) + 0.5) / self.vocab_size

  def _to_patches(self, x):
    batch, (h, w), p = x.shape[0], self.grid, self.patch_size
    x = x.reshape(batch, h, p, w, p, -1).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(batch, h, w, -1)

  def _from_patches(self, x):
    batch, (h, w), p = x.shape[0], self.grid, self.patch_size
    x = x.reshape(batch, h, w, p, p, -1).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(batch, h * p, w * p, -1)


def load(stage1_config, stage1_workdir, image_shape):
  del stage1_workdir  # a rule: nothing is trained
  return PixelPatches(image_shape, stage1_config.patch_size,
                      stage1_config.levels)
