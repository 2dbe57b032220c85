"""The pixel rules: Y′ = Y itself, so a prior over it is a direct X -> Y model that shares a regen
prior's network, budget and sampler.

`PixelValues`: pixels as continuous values in [-1, 1] (the flow prior's direct baseline).
`PixelPatches`: pixels quantized to `levels` (0 and 255 exact), grouped in square patches (the
token priors' pixel twin).
"""

import jax.numpy as jnp
import numpy as np

from regen_jax.data import pipeline
from regen_jax.errors import UserError
from regen_jax.stages.abstraction import Abstraction
from regen_jax.stages.specs import LatentSpec, TokenSpec, rule_fingerprint


def check_images(images, image_shape) -> np.ndarray:
  """The one shape check an image `encode` makes before touching a model."""
  images = np.asarray(images)
  if images.ndim != 4 or tuple(images.shape[1:]) != tuple(image_shape) or images.dtype != np.uint8:
    raise UserError(f"encode expects uint8 images of shape (batch, "
                    f"{', '.join(map(str, image_shape))}), got {images.dtype} {images.shape}")
  return images


def dataset_image_shape(config) -> tuple[int, int, int]:
  """(H, W, C) of the images of `config.dataset` (a TFDS dataset with an `image` feature)."""
  shape = tuple(pipeline.features(config.dataset, config.data_dir)["image"].shape)
  return shape if len(shape) == 3 else (*shape, 1)


class PixelValues(Abstraction):
  """uint8 images <-> (B, H, W, C) floats (pixel / 255 - 0.5) / 0.5."""

  def __init__(self, image_shape):
    height, width, channels = image_shape
    self.image_shape = tuple(image_shape)
    self.spec = LatentSpec(grid=(height, width), channels=channels, shift=0.5, scale=0.5,
                           name="pixel_values")
    self.fingerprint = rule_fingerprint(self.spec)

  @classmethod
  def from_config(cls, config):
    return cls(dataset_image_shape(config))

  def encode(self, images):
    images = jnp.asarray(check_images(images, self.image_shape), jnp.float32) / 255
    return (images - self.spec.shift) / self.spec.scale

  def decode(self, values):
    return jnp.clip(values * self.spec.scale + self.spec.shift, 0, 1)

  def decoder(self):
    return lambda weights, values: self.decode(values), {}


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
    return cls(dataset_image_shape(config), config.patch_size, config.levels)

  def encode(self, images):
    """Level round(pixel (levels - 1) / 255), so that black and white are levels exactly."""
    images = jnp.asarray(check_images(images, self.image_shape), jnp.int32)
    return self._to_patches((images * (self.spec.vocab_size - 1) + 127) // 255)

  def decode(self, tokens):
    return self._from_patches(tokens).astype(jnp.float32) / (self.spec.vocab_size - 1)

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
