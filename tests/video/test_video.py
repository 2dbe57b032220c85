"""The video domain: the causal tokenizer, the pixel-patch rule, the clip scores, and the stages
trained end to end with the tiny configs through the CLI (tokenizer, clip classifier, the
MaskGIT prior over its codes and over pixel patches), with their samples and refusals."""

import json
import os

import jax
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from regen_jax.domains.video import camera, classifier, data, media, metrics
from regen_jax.domains.video.models import Decoder, Encoder
from regen_jax.domains.video.patches import ClipPatches
from regen_jax.errors import UserError
from tests.helpers import assert_one_error_line, cli, logged

CLIP_SHAPE = (16, 32, 32, 1)


def _clips(count, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (count, *CLIP_SHAPE), dtype=np.uint8)


def test_encoder_is_causal_so_the_first_frames_fix_the_first_token_slice():
  encoder = Encoder((8, 8, 16), time_downsamplings=2, code_dim=3)
  clips = _clips(2) / 255
  params = encoder.init(jax.random.key(0), clips)
  changed = clips.copy()
  changed[:, 4:] = 1 - changed[:, 4:]
  before, after = encoder.apply(params, clips), encoder.apply(params, changed)
  assert before.shape == (2, 4, 8, 8, 3)
  np.testing.assert_array_equal(before[:, 0], after[:, 0])  # frames [0, 4) alone
  assert not np.allclose(before[:, 1:], after[:, 1:])


def test_decoder_is_causal_too():
  decoder = Decoder((8, 8, 16), time_downsamplings=2, out_channels=1)
  codes = np.random.default_rng(0).normal(size=(1, 4, 8, 8, 3)).astype(np.float32)
  params = decoder.init(jax.random.key(0), codes)
  changed = codes.copy()
  changed[:, 2:] += 1
  before, after = decoder.apply(params, codes), decoder.apply(params, changed)
  assert before.shape == (1, *CLIP_SHAPE)
  np.testing.assert_array_equal(before[:, :8], after[:, :8])  # slices 0, 1 -> frames [0, 8)
  assert not np.allclose(before[:, 8:], after[:, 8:])


def test_pixel_patches_round_trip_at_their_levels():
  rule = ClipPatches(CLIP_SHAPE, (4, 4, 4), levels=16)
  assert rule.spec.grid == (4, 8, 8) and rule.spec.tokens_per_position == 64
  clips = _clips(2)
  clips[0, 0, 0, 0] = 255
  tokens = rule.encode(clips)
  assert tokens.shape == (2, 4, 8, 8, 64) and int(tokens.max()) <= 15
  decoded = np.asarray(rule.decode(tokens))
  assert decoded[0, 0, 0, 0, 0] == 1.0
  np.testing.assert_allclose(decoded, np.round(clips / 255 * 15) / 15, atol=1e-6)
  with pytest.raises(UserError, match="uint8 clips of shape"):
    rule.encode(clips[:, :8])
  with pytest.raises(UserError, match="does not divide"):
    ClipPatches((16, 30, 30, 1), (4, 4, 4), 16)


def test_an_item_counts_as_recognised_when_its_class_is_in_the_clips_top_k():
  labels = np.array([[3, data.NO_ITEM], [1, 2], [5, 6]])
  logits = np.zeros((3, data.NUM_CLASSES))
  logits[0, 3] = logits[1, 2] = logits[1, 7] = logits[2, 5] = logits[2, 6] = 1.0
  logits[1, 7] = 2.0  # clip 1's top two: 7 and 2 -> item 2 recognised, item 1 not
  assert classifier.recognised_items(logits, labels) == (4, 5)
  np.testing.assert_array_equal(classifier.present_classes(labels[:2])[1],
                                np.eye(data.NUM_CLASSES)[1] + np.eye(data.NUM_CLASSES)[2])


def test_centroids_follow_a_moving_dot_and_ssim_matches_scikit_image():
  clips = np.zeros((1, 3, 8, 8, 1))
  for t in range(3):
    clips[0, t, 2, 1 + 2 * t] = 1.0
  np.testing.assert_allclose(metrics.centroids(clips)[0], [[2, 1], [2, 3], [2, 5]])
  assert metrics.trajectory_error(clips, clips) == 0
  assert metrics.trajectory_error(clips, clips[:, ::-1]) == pytest.approx(8 / 3)
  rng = np.random.default_rng(0)
  a = rng.random((3, 32, 32, 1))
  b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1)
  expected = [structural_similarity(x[..., 0], y[..., 0], data_range=1.0, gaussian_weights=True,
                                    sigma=1.5, use_sample_covariance=False)
              for x, y in zip(a, b)]
  np.testing.assert_allclose(metrics.ssim(a, b), expected, rtol=1e-6)
  np.testing.assert_allclose(metrics.ssim(a, a), 1.0)


def test_a_gif_holds_every_frame(tmp_path):
  clips = np.zeros((2, 4, 8, 8, 1))
  clips[:, 2] = 1.0
  media.save_gif(tmp_path / "c.gif", clips, rows=1, scale=1)
  frames = media.read_gif(tmp_path / "c.gif")
  assert len(frames) == 4 and frames[2].mean() > frames[0].mean() + 100


@pytest.fixture(scope="module")
def trained_video(tmp_path_factory, video_data_dir):
  """The tiny tokenizer, clip classifier, and both priors (codes and pixels), trained once."""
  root = tmp_path_factory.mktemp("video")
  dirs = {name: root / name for name in ("tokenizer", "classifier", "prior", "direct")}
  cli("train", "video/tokenizer.py:test", dirs["tokenizer"], "--config.num_steps=30")
  cli("train", "video/classifier.py:test", dirs["classifier"])
  links = (f"--config.stage1.workdir={dirs['tokenizer']}",
           f"--config.classifier.workdir={dirs['classifier']}")
  cli("train", "video/prior.py:test", dirs["prior"], *links)
  cli("train", "video/direct.py:test", dirs["direct"], links[1], "--config.num_steps=10")
  return dirs


def test_tokenizer_loss_falls_and_evaluate_scores_the_camera_clip(trained_video):
  recon = [row["recon_mse"] for row in logged(trained_video["tokenizer"]) if "recon_mse" in row]
  assert recon[-1] < 0.6 * recon[0]
  result = cli("evaluate", "video/tokenizer.py:test", trained_video["tokenizer"])
  scores = json.loads(result.stdout.strip().splitlines()[-1])
  assert 0 < scores["camera_clip_psnr"] < 60 and scores["psnr"] > 10  # footage: far from garments
  assert 0 < scores["codebook_usage"] <= 1


def test_prior_evaluation_scores_both_tasks(trained_video):
  rows = [row for row in logged(trained_video["prior"]) if "eval/classes_nll_per_token" in row]
  assert rows[-1]["eval/classes_nll_per_token"] < rows[0]["eval/classes_nll_per_token"]
  for key in ("item_accuracy", "trajectory_error", "frames_psnr", "frames_ssim",
              "frames_repeat_last_psnr"):
    assert np.isfinite(rows[-1][f"eval/{key}"]), key
  direct = [row for row in logged(trained_video["direct"]) if "eval/frames_psnr" in row]
  assert direct and np.isfinite(direct[-1]["eval/item_accuracy"])


def _sample(dirs, stage, output, *flags):
  config = {"prior": "video/prior.py:test", "direct": "video/direct.py:test",
            "tokenizer": "video/tokenizer.py:test"}[stage]
  links = [f"--config.stage1.workdir={dirs['tokenizer']}"] if stage == "prior" else []
  return cli("sample", config, dirs[stage], *links, "--output", str(output), *flags,
             check=False)


def test_sample_writes_a_gif_per_class_row_and_predicts_after_a_real_clip(trained_video,
                                                                          tmp_path):
  result = _sample(trained_video, "prior", tmp_path / "classes.gif", "--label", "3")
  assert result.returncode == 0, result.stderr[-2000:]
  frames = media.read_gif(tmp_path / "classes.gif")
  assert len(frames) == 16 and os.path.exists(tmp_path / "classes.png")
  result = _sample(trained_video, "direct", tmp_path / "next.gif", "--clip",
                   camera.sample_clip_path())
  assert result.returncode == 0, result.stderr[-2000:]
  assert len(media.read_gif(tmp_path / "next.gif")) == 16


def test_tokenizer_sample_reconstructs_a_clip_file(trained_video, tmp_path):
  clip = tmp_path / "clip.npy"
  np.save(clip, _clips(1)[0])
  assert _sample(trained_video, "tokenizer", tmp_path / "r.gif", "--clip", str(clip)).returncode == 0
  assert len(media.read_gif(tmp_path / "r.gif")) == 16


def test_a_corrupt_clip_file_is_one_error_line_and_nothing_is_written(trained_video, tmp_path):
  """(The reader's other refusals, short and misshapen clips, are tests/video/test_data.py's.)"""
  path = tmp_path / "bad.mp4"
  path.write_bytes(b"\x00not a video" * 100)
  result = _sample(trained_video, "prior", tmp_path / "out.gif", "--clip", str(path))
  assert_one_error_line(result, "FFmpeg")
  assert not os.path.exists(tmp_path / "out.gif")


def test_unknown_label_and_a_tokenizer_that_does_not_divide_the_clips(trained_video, tmp_path):
  assert_one_error_line(_sample(trained_video, "prior", tmp_path / "x.gif", "--label", "10"),
                        "--label 10")
  result = cli("train", "video/tokenizer.py:test", tmp_path / "t",
               "--config.model.channels=(8,8,8,8,8,8,8)", check=False)
  assert_one_error_line(result, "does not divide clips of 16x32x32")
  assert not os.path.exists(tmp_path / "t" / "checkpoints")


def test_encode_refuses_clips_of_the_wrong_shape(trained_video):
  from regen_jax.stages import pairing
  from tests.helpers import config
  prior_config = config("video/prior.py:test")
  prior_config.stage1.workdir = str(trained_video["tokenizer"])
  tokens = pairing.load_stage1(prior_config)
  with pytest.raises(UserError, match=r"uint8 clips of shape \(batch, 16, 32, 32, 1\)"):
    tokens.encode(_clips(1)[:, :12])
  with pytest.raises(UserError):
    tokens.encode(_clips(1).astype(np.float32))
  assert tokens.encode(_clips(2)).shape == (2, 4, 8, 8, 1)


@pytest.mark.slow
def test_paper_size_tokenizer_and_prior_take_two_steps_on_128x128_clips(monkeypatch):
  """MAGVIT-B-like sizes compile and train on CPU at batch 1, on random 16x128x128 clips (the
  `paper` dataset is not built here): minutes, so `slow`."""
  from regen_jax.domains.video import clips as clips_lib
  from regen_jax.domains.video import prior as prior_lib
  from regen_jax.stages import base as stage_lib
  from regen_jax.stages import pairing
  from tests.helpers import config
  from tests.image.test_paper_size import two_steps
  shape = (16, 128, 128, 1)
  for module in (clips_lib, prior_lib):
    monkeypatch.setattr(module.data, "clip_shape", lambda *_: shape)
  random_clips = np.random.default_rng(0).integers(0, 256, (1, *shape), dtype=np.uint8)
  tokenizer_config = config("video/tokenizer.py:paper")
  tokenizer = stage_lib.build(tokenizer_config)
  batch = {**tokenizer.example_batch(1), "video": random_clips}
  params = two_steps(tokenizer, tokenizer_config, batch)
  tokens = tokenizer.abstraction(params, {}, step=2)
  assert tokens.spec.grid == (4, 16, 16)
  monkeypatch.setattr(pairing, "load_stage1", lambda _: tokens)
  prior_config = config("video/prior.py:paper")
  prior = stage_lib.build(prior_config)
  encoded = prior.batch_arrays(np.asarray(tokens.encode(random_clips)))
  two_steps(prior, prior_config, {**prior.example_batch(1), **encoded})
