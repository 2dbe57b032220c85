"""The pixel rule: images as pixels quantized to `levels`, grouped in square patches.

Y′ here is Y itself up to 16-level quantization, so a prior over it is a direct X -> Y model
that shares a regen prior's transformer, budget and sampler (the image domain's direct baseline).
"""

import jax.numpy as jnp
import numpy as np

from regen_jax.data import pipeline
from regen_jax.errors import UserError
from regen_jax.stages.abstraction import Abstraction
from regen_jax.stages.specs import TokenSpec, rule_fingerprint


def check_images(images, image_shape) -> np.ndarray:
  """The one shape check an image `encode` makes before touching a model."""
  images = np.asarray(images)
  if images.ndim != 4 or tuple(images.shape[1:]) != tuple(image_shape) or images.dtype != np.uint8:
    raise UserError(f"encode expects uint8 images of shape (batch, "
                    f"{', '.join(map(str, image_shape))}), got {images.dtype} {images.shape}")
  return images


class PixelPatches(Abstraction):

  def __init__(self, image_shape, patch_size: int, levels: int):
    height, width, channels = image_shape
    if height % patch_size or width % patch_size:
      raise UserError(f"patch_size {patch_size} does not divide image size {height}x{width}")
    self.image_shape = tuple(image_shape)
    self.patch_size = patch_size
    self.spec = TokenSpec(vocab_size=levels, grid=(height // patch_size, width // patch_size),
                          tokens_per_position=patch_size * patch_size * channels, name="pixels")
    self.fingerprint = rule_fingerprint(self.spec)

  @classmethod
  def from_config(cls, config):
    """Patches of the images of `config.dataset` (a TFDS dataset with an `image` feature)."""
    shape = tuple(pipeline.features(config.dataset, config.data_dir)["image"].shape)
    return cls(shape if len(shape) == 3 else (*shape, 1), config.patch_size, config.levels)

  def encode(self, images):
    images = jnp.asarray(check_images(images, self.image_shape), jnp.int32)
    return self._to_patches(images * self.spec.vocab_size // 256)

  def decode(self, tokens):
    return (self._from_patches(tokens).astype(jnp.float32) + 0.5) / self.spec.vocab_size

  def decoder(self):
    return lambda weights, tokens: self.decode(tokens), {}

  def _to_patches(self, x):
    batch, (h, w), p = x.shape[0], self.spec.grid, self.patch_size
    x = x.reshape(batch, h, p, w, p, -1).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(batch, h, w, -1)

  def _from_patches(self, x):
    batch, (h, w), p = x.shape[0], self.spec.grid, self.patch_size
    x = x.reshape(batch, h, w, p, p, -1).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(batch, h * p, w * p, -1)
