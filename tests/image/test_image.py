"""The image domain end to end with tiny configs: stages, CLI, outputs, pairing and clear errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from regen_jax.errors import UserError
from regen_jax.stages import pairing
from tests.helpers import ROOT, assert_one_error_line, cli, logged, losses

TOKENIZER = "image/tokenizer.py:test"
PRIOR = "image/prior.py:prior=maskgit,test"


def test_workdir_holds_checkpoints_metrics_events_samples_and_config(trained_image):
  workdir = trained_image["tokenizer"]
  assert {"checkpoints", "metrics.jsonl", "tensorboard", "samples", "config.json"} <= set(
      os.listdir(workdir))
  assert any(name.startswith("events.out.tfevents") for name in os.listdir(workdir / "tensorboard"))
  rows = logged(workdir)
  assert all("step" in row for row in rows)
  assert any("loss" in row for row in rows) and any("eval/psnr" in row for row in rows)
  assert json.load(open(workdir / "config.json"))["vq"]["codebook_size"] == 32
  assert os.listdir(workdir / "samples")


def test_tokenizer_loss_falls(trained_image):
  logged_losses = losses(trained_image["tokenizer"])
  steps = sorted(logged_losses)
  assert logged_losses[steps[-1]][0] < 0.7 * logged_losses[steps[0]][0]


def test_prior_grid_has_a_row_per_class(trained_image):
  rows = [r for r in logged(trained_image["prior"]) if "eval/sample_accuracy" in r]
  assert rows and 0 <= rows[-1]["eval/sample_accuracy"] <= 1
  out = trained_image["prior"] / "grid.png"
  cli("sample", PRIOR, trained_image["prior"], f"--output={out}",
      f"--config.stage1.workdir={trained_image['tokenizer']}")
  width, height = Image.open(out).size
  cell = 3 * (28 + 2)  # upscale x (image + padding)
  assert height == 10 * cell + 3 * 2 and width == 10 * cell + 3 * 2


def test_evaluate_reports_classifier_scores(trained_image):
  result = cli("evaluate", PRIOR, trained_image["prior"],
               f"--config.stage1.workdir={trained_image['tokenizer']}",
               f"--config.classifier.workdir={trained_image['classifier']}")
  summary = json.loads(result.stdout.strip().splitlines()[-1])
  assert {"nll_per_token", "sample_accuracy", "frechet_distance"} <= set(summary)
  assert json.load(open(trained_image["prior"] / "eval_validation.json")) == summary


def test_code_cache_is_keyed_by_the_tokenizer_checkpoint(trained_image):
  cache = trained_image["tokenizer"] / "code_cache"
  (key,) = os.listdir(cache)
  assert key.startswith("vq-step40-")
  cached = np.load(cache / key / "regen_fashion_mnist_tiny-train.npz")
  assert cached["tokens"].shape == (512, 14 * 14, 1) and cached["tokens"].max() < 32


def test_unknown_config_key_is_one_clear_line(tmp_path, data_dir):
  result = cli("train", TOKENIZER, tmp_path / "w", "--config.no_such_key=1", check=False)
  assert_one_error_line(result, "no_such_key")
  assert not os.path.exists(tmp_path / "w")


def test_wrong_typed_value_is_one_clear_line(tmp_path, data_dir):
  result = cli("train", TOKENIZER, tmp_path / "w", "--config.num_steps=many", check=False)
  assert_one_error_line(result, "num_steps")
  assert not os.path.exists(tmp_path / "w")


def test_missing_stage1_checkpoint_is_one_clear_line(tmp_path, data_dir):
  result = cli("train", "image/prior.py:test", tmp_path / "w",
               f"--config.stage1.workdir={tmp_path / 'nothing'}", check=False)
  assert_one_error_line(result, "train stage 1 (image.tokenizer:Tokenizer) first")
  assert not os.path.exists(tmp_path / "w")


def test_stage1_config_mismatch_is_one_clear_line(tmp_path, trained_image):
  result = cli("train", "image/prior.py:test", tmp_path / "w",
               f"--config.stage1.workdir={trained_image['tokenizer']}",
               "--config.stage1.vq.codebook_size=64", check=False)
  assert_one_error_line(result, "vq.codebook_size: saved 32, given 64")
  assert not os.path.exists(tmp_path / "w")


def test_prior_paired_with_another_tokenizer_is_refused(tmp_path, trained_image):
  other = tmp_path / "other_tokenizer"
  cli("train", TOKENIZER, other, "--config.num_steps=10", "--config.seed=7")
  result = cli("sample", PRIOR, trained_image["prior"], f"--config.stage1.workdir={other}",
               check=False)
  assert_one_error_line(result, "was trained against other inputs", "stage1.fingerprint")


def test_a_rule_takes_no_stage1_workdir(tmp_path, trained_image):
  result = cli("train", "image/direct.py:test", tmp_path / "w",
               f"--config.stage1.workdir={trained_image['tokenizer']}", check=False)
  assert_one_error_line(result, "is a rule: it takes no workdir")


def test_trained_tokenizer_round_trips_and_refuses_wrong_shapes(trained_image, tiny_validation):
  restored = pairing.restore_workdir(str(trained_image["tokenizer"]))
  tokenizer = restored.stage.abstraction(restored.params, restored.model_state, restored.step)
  images = tiny_validation["image"][:8]
  tokens = tokenizer.encode(images)
  assert tokens.shape == (8, 14, 14, 1) and int(tokens.max()) < tokenizer.spec.vocab_size
  decoded = np.asarray(tokenizer.decode(tokens))
  assert decoded.shape == (8, 28, 28, 1)
  assert np.mean((decoded - images / 255.0) ** 2) < np.mean((images / 255.0) ** 2)  # not blank
  with pytest.raises(UserError, match="encode expects uint8 images of shape"):
    tokenizer.encode(np.zeros((8, 32, 32, 3), np.uint8))


def test_help_lists_the_commands():
  result = subprocess.run([sys.executable, "-m", "regen_jax", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
  for command in ("train", "sample", "evaluate", "export"):
    assert f"python -m regen_jax {command}" in result.stdout + result.stderr
  assert "--text" in result.stdout + result.stderr  # a stage's declared sample flag
