"""The video data: Moving Fashion-MNIST (bouncing items, fixed disjoint splits, read back and
streamed through TFDS + grain), and real camera clips decoded by FFmpeg (PyAV)."""

import av
import numpy as np
import pytest

from regen_jax.data import pipeline
from regen_jax.domains.image import data as image_data
from regen_jax.domains.video import camera
from regen_jax.domains.video import data
from regen_jax.errors import UserError

DATASET = "regen_moving_fashion/tiny"
FRAME, ITEM = 32, 14  # tiny's frames and items


def _build_tiny(path: str):
  data.RegenMovingFashion(config="tiny", data_dir=str(path),
                          file_format="array_record").download_and_prepare()


@pytest.fixture(scope="module")
def splits(video_data_dir):
  return {split: data.load(DATASET, split, video_data_dir)
          for split in ("train", "validation", "test")}


@pytest.fixture(scope="module")
def idx_files():
  """{file: (images, labels)} of the Fashion-MNIST IDX files the items come from."""
  root = image_data.source_dir()
  return {name: (image_data.read_idx(f"{root}/{name}-images-idx3-ubyte.gz"),
                 image_data.read_idx(f"{root}/{name}-labels-idx1-ubyte.gz"))
          for name in ("train", "t10k")}


def test_bounce_track_reflects_at_both_borders():
  track = data.bounce_track(start=(1.0, 9.0), velocity=(-2.0, 1.5), limit=10, num_frames=4)
  # rows: 1 -> -1 reflects to 1 (now moving down); columns: 9 -> 10.5 reflects to 9.5.
  np.testing.assert_allclose(track, [[1, 9], [1, 9.5], [3, 8], [5, 6.5]])


def test_bounce_track_stays_inside_and_is_a_folded_straight_line():
  rng, limit = np.random.default_rng(0), 18.0
  for _ in range(50):
    start, velocity = rng.uniform(0, limit, 2), rng.uniform(-3, 3, 2)
    track = data.bounce_track(start, velocity, limit, 40)
    assert track.min() >= 0 and track.max() <= limit
    # Reflection off two walls is the straight line folded into [0, limit] (period 2 limit).
    line = (start + np.arange(40)[:, None] * velocity) % (2 * limit)
    np.testing.assert_allclose(track, limit - np.abs(limit - line), atol=1e-9)
    steps = np.diff(track, axis=0)  # each step is as fast as the start, or slower at a bounce
    assert np.all(np.abs(steps) <= np.abs(velocity) + 1e-9)


def _drawn(items, positions) -> np.ndarray:
  """One frame: `items` at their rounded top-left `positions`, overlaps by max."""
  frame = np.zeros((FRAME, FRAME), np.uint8)
  for item, (row, col) in zip(items, np.rint(positions).astype(int)):
    box = frame[row:row + ITEM, col:col + ITEM]
    box[...] = np.maximum(box, item)
  return frame


def test_render_clip_draws_each_item_at_its_rounded_track_position():
  rng = np.random.default_rng(1)
  items = [rng.integers(1, 256, (ITEM, ITEM), dtype=np.uint8) for _ in range(2)]
  clip, track = data.render_clip(items, [(0.4, 17.6), (9.0, 3.0)], [(2.5, -1.0), (-0.7, 2.9)],
                                 FRAME)
  assert clip.shape == (data.NUM_FRAMES, FRAME, FRAME, 1) and clip.dtype == np.uint8
  assert track.shape == (data.NUM_FRAMES, 2, 2)
  np.testing.assert_allclose(track[0], [(0.4, 17.6), (9.0, 3.0)])
  for frame, positions in zip(clip[..., 0], track):
    np.testing.assert_array_equal(frame, _drawn(items, positions))
  single, _ = data.render_clip(items[:1], [(3.0, 4.0)], [(0.0, 0.0)], FRAME, num_frames=2)
  np.testing.assert_array_equal(single[1, 3:3 + ITEM, 4:4 + ITEM, 0], items[0])
  assert single[1].sum() == items[0].sum()  # black elsewhere


def test_records_are_their_items_moving_along_their_tracks(splits, idx_files):
  for split, arrays in splits.items():
    images, labels = idx_files["t10k" if split == "test" else "train"]
    for i in range(len(arrays["video"])):
      present = arrays["item_index"][i] >= 0
      assert present[0]  # slot 0 always holds an item
      index = arrays["item_index"][i][present]
      np.testing.assert_array_equal(arrays["label"][i][present], labels[index])
      assert np.all(arrays["label"][i][~present] == data.NO_ITEM)
      for key in ("start", "velocity", "track"):
        assert not np.any(arrays[key][i][..., ~present, :])
      track = arrays["track"][i][:, present]
      assert track.min() >= 0 and track.max() <= FRAME - ITEM  # inside the frame throughout
      np.testing.assert_allclose(track[0], arrays["start"][i][present], atol=1e-5)
      speed = np.linalg.norm(arrays["velocity"][i][present], axis=-1)
      assert np.all((speed >= 1 - 1e-5) & (speed <= 3 + 1e-5))
      items = data.resize_items(images[index], ITEM)
      for frame, positions in zip(arrays["video"][i][..., 0], track):
        np.testing.assert_array_equal(frame, _drawn(items, positions))


def test_splits_share_no_item_and_draw_from_the_image_splits(splits):
  used = {split: arrays["item_index"][arrays["item_index"] >= 0]
          for split, arrays in splits.items()}
  for split, items in used.items():
    assert len(np.unique(items)) == len(items), f"{split} reuses an item"
  train, valid = image_data.train_validation_indices(60000)
  assert np.isin(used["train"], train).all() and np.isin(used["validation"], valid).all()
  assert used["test"].max() < 10000  # t10k
  assert [len(a["video"]) for a in splits.values()] == [256, 64, 64]
  two = (splits["train"]["item_index"][:, 1] >= 0).mean()
  assert 0.35 < two < 0.65  # 1- and 2-item clips, half each


def test_two_builds_are_identical(splits, tmp_path):
  _build_tiny(tmp_path)
  for split, arrays in splits.items():
    again = data.load(DATASET, split, str(tmp_path))
    assert sorted(again) == sorted(arrays)
    for key in arrays:
      np.testing.assert_array_equal(again[key], arrays[key])


def test_shapes_come_from_metadata_without_a_build(tmp_path):
  assert data.clip_shape("regen_moving_fashion/small", str(tmp_path)) == (16, FRAME, FRAME, 1)
  assert data.clip_shape("regen_moving_fashion/full", str(tmp_path)) == (16, 64, 64, 1)
  assert not list(tmp_path.rglob("*.array_record*"))
  plan = data.plan_clips(500, 1000, 64, 28, np.random.default_rng(0))
  speed = np.linalg.norm(plan["velocity"], axis=-1)[plan["slot"] >= 0]
  assert speed.min() >= 2 and speed.max() <= 6  # scaled with the frame size
  assert plan["start"].max() <= 64 - 28


@pytest.mark.parametrize("workers", [0, 1])
def test_train_batches_stream_from_array_record(video_data_dir, splits, workers):
  source = pipeline.data_source(DATASET, "train", video_data_dir)
  stream = pipeline.stream_iterator(source, data.clip_example, 8, seed=5, workers=workers)
  known = {clip.tobytes() for clip in splits["train"]["video"]}
  for _ in range(2):
    batch = next(stream)
    assert sorted(batch) == ["label", "start", "track", "velocity", "video"]
    assert batch["video"].shape == (8, 16, FRAME, FRAME, 1) and batch["video"].dtype == np.uint8
    assert batch["label"].shape == (8, 2) and batch["track"].shape == (8, 16, 2, 2)
    assert all(clip.tobytes() in known for clip in batch["video"])
  if workers:
    stream.close()


# Camera clips.


def test_bikes_clip_is_real_moving_footage():
  clip = camera.read_clip(camera.sample_clip_path(), 8, FRAME)
  assert clip.shape == (8, FRAME, FRAME, 1) and clip.dtype == np.uint8
  frames = clip[..., 0].reshape(8, -1).astype(float)
  assert frames.std() > 20
  for now, later in zip(frames, frames[1:]):
    assert np.abs(later - now).mean() > 1  # it moves
    assert np.corrcoef(now, later)[0, 1] > 0.7  # but frame to frame, not at random
  later = camera.read_clip(camera.sample_clip_path(), 2, FRAME, start_frame=7)
  np.testing.assert_array_equal(later[0], clip[7])
  assert camera.read_clip(camera.sample_clip_path("carphone_pristine.mp4"), 2, 16).shape == (
      2, 16, 16, 1)


def _write_video(path, num_frames: int):
  with av.open(str(path), "w") as out:
    stream = out.add_stream("mpeg4", rate=10)
    stream.width, stream.height, stream.pix_fmt = 48, 40, "yuv420p"
    for i in range(num_frames):
      pixels = np.full((40, 48, 3), 40 * i, np.uint8)
      for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
        out.mux(packet)
    for packet in stream.encode():
      out.mux(packet)


@pytest.mark.parametrize("content", ["random", "truncated"])
def test_undecodable_video_is_one_error_line(tmp_path, content):
  path = tmp_path / "clip.mp4"
  with open(camera.sample_clip_path(), "rb") as f:
    real = f.read(2048)
  path.write_bytes(np.random.default_rng(0).bytes(5000) if content == "random" else real)
  with pytest.raises(UserError, match="not a video FFmpeg can decode") as error:
    camera.read_clip(str(path), 4, FRAME)
  assert "\n" not in str(error.value)
  with pytest.raises(UserError, match="no such file"):
    camera.read_clip(str(tmp_path / "absent.mp4"), 4, FRAME)


def test_short_clips_are_refused_or_returned_whole(tmp_path):
  path = tmp_path / "three.mp4"
  _write_video(path, 3)
  with pytest.raises(UserError, match="has 3 frames; 4 needed"):
    camera.read_clip(str(path), 4, FRAME)
  with pytest.raises(UserError, match="has 3 frames; frame prediction needs at least 4"):
    camera.read_clip_file(str(path), 8, FRAME, min_frames=4)
  clip = camera.read_clip_file(str(path), 8, FRAME, min_frames=2)
  assert clip.shape == (3, FRAME, FRAME, 1)
  assert clip[0].max() < clip[2].min()  # the frames brighten, in order


def test_npy_clips_are_checked(tmp_path):
  path = str(tmp_path / "clip.npy")
  frames = np.random.default_rng(2).integers(0, 256, (6, FRAME, FRAME), dtype=np.uint8)
  np.save(path, frames)
  np.testing.assert_array_equal(camera.read_clip_file(path, 4, FRAME)[..., 0], frames[:4])
  np.save(path, frames[..., None])
  assert camera.read_clip_file(path, 6, FRAME).shape == (6, FRAME, FRAME, 1)
  with pytest.raises(UserError, match="has 6 frames; 8 needed"):
    camera.read_clip_file(path, 8, FRAME)
  for wrong in (frames[:, :16], frames.astype(np.float32), frames[0]):
    np.save(path, wrong)
    with pytest.raises(UserError, match=rf"expected uint8 \(T, {FRAME}, {FRAME}\)"):
      camera.read_clip_file(path, 4, FRAME)
