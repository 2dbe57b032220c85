"""Image grids as PNG files."""

import os

import numpy as np
from PIL import Image


def grid(images, rows: int, pad: int = 2) -> np.ndarray:
  """(N, H, W, C) floats in [0, 1] -> one uint8 image, `rows` rows filled left to right."""
  images = np.clip(np.asarray(images, np.float32), 0, 1)
  n, height, width, channels = images.shape
  cols = -(-n // rows)
  out = np.ones((rows * (height + pad) + pad, cols * (width + pad) + pad, channels), np.float32)
  for i, image in enumerate(images):
    r, c = divmod(i, cols)
    top, left = pad + r * (height + pad), pad + c * (width + pad)
    out[top:top + height, left:left + width] = image
  return (out * 255 + 0.5).astype(np.uint8)


def save_grid(path: str, images, rows: int, scale: int = 3):
  """Writes a grid PNG, upscaled `scale`x (nearest) so small images stay legible."""
  pixels = grid(images, rows)
  image = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
  image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  image.save(path)
