"""The image tokenizer with finite scalar quantization (`vq.quantizer=fsq`), tiny config."""

import os

import numpy as np

from regen_jax.stages import pairing
from tests.helpers import assert_one_error_line, cli, logged, losses

FSQ_TOKENIZER = "image/tokenizer.py:quantizer=fsq,test"  # levels (5, 3, 3): 45 codes


def test_fsq_tokenizer_trains_and_round_trips(tmp_path, tiny_validation):
  workdir = tmp_path / "fsq"
  cli("train", FSQ_TOKENIZER, workdir, "--config.num_steps=40", "--config.eval_every=40",
      "--config.checkpoint_every=40")
  logged_losses = losses(workdir)
  steps = sorted(logged_losses)
  assert logged_losses[steps[-1]][0] < 0.7 * logged_losses[steps[0]][0]
  rows = logged(workdir)
  assert not any("restarted_codes" in row for row in rows)  # no codebook to restart
  evaluated = [row for row in rows if "eval/psnr" in row][-1]
  assert evaluated["eval/psnr"] > 10
  assert 0 < evaluated["eval/codebook_usage"] <= 1 and 1 < evaluated["eval/perplexity"] <= 45

  restored = pairing.restore_workdir(str(workdir))
  assert restored.model_state == {}
  tokenizer = restored.stage.abstraction(restored.params, restored.model_state, restored.step)
  assert tokenizer.spec.vocab_size == 45 and tokenizer.fingerprint.startswith("fsq5x3x3-step40-")
  images = tiny_validation["image"][:8]
  tokens = tokenizer.encode(images)
  assert tokens.shape == (8, 14, 14, 1) and 0 <= int(tokens.min()) <= int(tokens.max()) < 45
  decoded = np.asarray(tokenizer.decode(tokens))
  assert np.mean((decoded - images / 255.0) ** 2) < np.mean((images / 255.0) ** 2)  # not blank


def test_unknown_quantizer_is_one_error_line(tmp_path, data_dir):
  result = cli("train", "image/tokenizer.py:quantizer=lfq,test", tmp_path / "w", check=False)
  assert_one_error_line(result, "unknown vq.quantizer 'lfq'", "ema, fsq")
  assert not os.path.exists(tmp_path / "w")


def test_fsq_needs_a_code_dim_per_level(tmp_path, data_dir):
  result = cli("train", FSQ_TOKENIZER, tmp_path / "w", "--config.model.code_dim=8", check=False)
  assert_one_error_line(result, "model.code_dim = len(vq.fsq_levels) = 3, got 8")
