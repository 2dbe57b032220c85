"""Clips as files: an animated GIF (clips side by side, frame by frame) and a PNG strip (each
clip a row of its frames)."""

import os

import numpy as np
from PIL import Image

from regen_jax.evaluate import images as image_io

_FRAME_MS = 125  # 8 frames per second: 16 frames loop in 2 s


def _pil(pixels: np.ndarray, scale: int) -> Image.Image:
  image = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
  return image.resize((image.width * scale, image.height * scale), Image.NEAREST)


def save_gif(path: str, clips, rows: int, scale: int = 3):
  """Clips (N, T, H, W, C) in [0, 1] as one animated GIF: frame t shows every clip's frame t in
  a grid of `rows` rows."""
  clips = np.asarray(clips, np.float32)
  frames = [_pil(image_io.grid(clips[:, t], rows), scale) for t in range(clips.shape[1])]
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  frames[0].save(path, save_all=True, append_images=frames[1:], duration=_FRAME_MS, loop=0)


def save_strip(path: str, clips, scale: int = 3):
  """Clips (N, T, H, W, C) in [0, 1] as one PNG: a row of frames per clip."""
  clips = np.asarray(clips, np.float32)
  image_io.save_grid(path, clips.reshape(-1, *clips.shape[2:]), rows=len(clips), scale=scale)


def save_gif_and_strip(path: str, clips, rows: int) -> list[str]:
  """`path` (.gif) and its PNG strip beside it (.png): what `sample` writes; returns both."""
  strip = path[:-len(".gif")] + ".png"
  save_gif(path, clips, rows)
  save_strip(strip, clips)
  return [path, strip]


def read_gif(path: str) -> np.ndarray:
  """The frames of a GIF written by `save_gif`, (T, H, W) uint8 grayscale. PIL stores a run of
  equal frames as one frame shown longer: it is repeated for its duration."""
  with Image.open(path) as image:
    frames = []
    for index in range(image.n_frames):
      image.seek(index)
      repeats = round(image.info["duration"] / _FRAME_MS)
      frames.extend([np.asarray(image.convert("L"))] * repeats)
  return np.stack(frames)
