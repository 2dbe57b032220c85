"""Abstractions Y -> Y' and back: the stage-1 side of the stage contract.

Every abstraction object offers
  encode(images uint8 (B, H, W, C)) -> tokens int32 (B, h, w, tokens_per_position)
  decode(tokens) -> images float32 in [0, 1]           (pure, jittable)
and the facts a prior needs: `image_shape`, `grid` (h, w), `tokens_per_position`, `vocab_size`,
and `fingerprint`, which identifies it exactly (stage-2 checkpoints record it).
`config.stage1.abstraction` names a module here whose
`load(stage1_config, stage1_workdir, image_shape)` builds it for images of the data's shape.
"""

import importlib

import numpy as np

from regen_jax.errors import UserError


def load(stage1_config, stage1_workdir: str, image_shape):
  module = importlib.import_module(f"regen_jax.abstractions.{stage1_config.abstraction}")
  return module.load(stage1_config, stage1_workdir, tuple(image_shape))


def check_images(images, image_shape) -> np.ndarray:
  """The one shape check every `encode` makes before touching a model."""
  images = np.asarray(images)
  if images.ndim != 4 or tuple(images.shape[1:]) != tuple(image_shape) or images.dtype != np.uint8:
    raise UserError(f"encode expects uint8 images of shape (batch, {', '.join(map(str, image_shape))}),"
                    f" got {images.dtype} {images.shape}")
  return images
