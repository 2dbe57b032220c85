"""A loop users can trust with their runs: each defect a user met on the old loop, refused in
one line, survived, or never silent again. Tiny tokenizer runs through the CLI, as a user runs."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from regen_jax.core import checkpoint, loop
from regen_jax.core import config as config_lib
from regen_jax.errors import UserError
from tests.helpers import ROOT, assert_one_error_line, cli, config, losses

TOKENIZER = "image/tokenizer.py:test"


def _popen(workdir, *overrides, config_name=TOKENIZER):
  args = [sys.executable, "-m", "regen_jax", "train", "--config",
          os.path.join(ROOT, "configs", config_name), "--workdir", str(workdir), *overrides]
  return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def _wait_for(path, process, timeout=240):
  deadline = time.time() + timeout
  while not os.path.exists(path):
    assert process.poll() is None, process.communicate()[1][-2000:]
    assert time.time() < deadline, f"no {path} in time"
    time.sleep(0.05)


@pytest.fixture
def trained_tokenizer(tmp_path, data_dir):
  """A tiny tokenizer trained 20 steps, checkpoints at 10 and 20."""
  workdir = tmp_path / "tokenizer"
  cli("train", TOKENIZER, workdir)
  return workdir


# 1 ----------------------------------------------------------------------------------------------
def test_a_second_train_on_a_workdir_is_refused_while_the_first_runs(tmp_path, data_dir):
  workdir = tmp_path / "run"
  first = _popen(workdir, "--config.num_steps=400", "--config.checkpoint_every=10")
  try:
    _wait_for(workdir / "checkpoints" / "10", first)
    second = cli("train", TOKENIZER, workdir, "--config.num_steps=400", check=False)
    assert_one_error_line(second, f"workdir {os.path.abspath(workdir)} is in use by a training "
                                  f"run (pid {first.pid}")
    assert first.poll() is None  # the first run goes on
  finally:
    first.kill()
    first.wait()
  # SIGKILL left the lock file behind; the kernel released the lock with the process.
  assert (workdir / "train.lock").exists()
  cli("train", TOKENIZER, workdir, "--config.num_steps=30")
  assert all(len(values) == 1 or len(set(values)) == 1 for values in losses(workdir).values())


# 2 ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("override, fragment", [
    ("--config.keep_checkpoints=0", "keep_checkpoints must be an integer >= 1, got 0"),
    ("--config.num_steps=0", "num_steps must be an integer >= 1, got 0"),
])
def test_settings_that_cannot_run_are_one_line_and_write_nothing(tmp_path, data_dir, override,
                                                                 fragment):
  result = cli("train", TOKENIZER, tmp_path / "w", override, check=False)
  assert_one_error_line(result, fragment)
  assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("key, value, fragment", [
    ("batch_size", 0, "batch_size must be an integer >= 1"),
    ("eval_batch_size", -1, "eval_batch_size must be an integer >= 1"),
    ("log_every", 0, "log_every must be an integer >= 1"),
    ("checkpoint_every", 0, "checkpoint_every must be an integer >= 1"),
    ("compute_dtype", "float8", "compute_dtype must be one of float32, bfloat16, float16"),
    ("optimizer.schedule", "linear", "optimizer.schedule must be one of cosine, constant"),
    ("model.channels", (8, "a"), "model.channels must be a tuple of int"),
    ("sharding.fsdp", 0, "sharding.fsdp must be an integer >= 1"),
])
def test_validation_names_the_setting(key, value, fragment):
  reference = config(TOKENIZER)
  given = config(TOKENIZER)
  given.update_from_flattened_dict({key: value})
  with pytest.raises(UserError, match=fragment):
    config_lib.validate(given, reference)
  config_lib.validate(reference, reference)


# 3 ----------------------------------------------------------------------------------------------
def test_nan_finishes_the_pending_save_then_stops_in_one_line(tmp_path, data_dir):
  workdir = tmp_path / "nan"
  # A learning rate this large overflows the weights: the loss is NaN from the third step.
  result = cli("train", TOKENIZER, workdir, "--config.optimizer.learning_rate=1e30",
               "--config.checkpoint_every=1", "--config.log_every=1", check=False)
  assert_one_error_line(result, "NaN/Inf at step 2", "the newest checkpoint is step 2")
  assert result.returncode == 2
  left = os.listdir(workdir / "checkpoints")
  assert sorted(left) == ["1", "2"], left  # no half-written (tmp) checkpoint
  diverging = config(TOKENIZER)
  diverging.optimizer.learning_rate = 1e30
  assert loop.restore_for_inference(diverging, str(workdir)).step == 2


# 4 ----------------------------------------------------------------------------------------------
def test_resuming_with_another_config_is_refused_naming_the_keys(trained_tokenizer):
  before = (trained_tokenizer / "config.json").read_text()
  result = cli("train", TOKENIZER, trained_tokenizer, "--config.num_steps=30",
               "--config.batch_size=8", "--config.seed=3",
               "--config.optimizer.learning_rate=0.01", check=False)
  assert_one_error_line(result, "batch_size: saved 16, given 8", "seed: saved 0, given 3",
                        "optimizer.learning_rate: saved 0.002, given 0.01")
  assert (trained_tokenizer / "config.json").read_text() == before
  resumed = cli("train", TOKENIZER, trained_tokenizer, "--config.num_steps=30")  # run-time key
  assert "resumed from step 20" in resumed.stdout
  assert json.loads((trained_tokenizer / "config.json").read_text())["num_steps"] == 30


def test_evaluating_with_the_config_of_another_prior_is_refused(trained_image):
  path = trained_image["prior"] / "eval_validation.json"
  before = path.read_text() if path.exists() else None
  result = cli("evaluate", "image/prior.py:prior=ar,test", trained_image["prior"],
               f"--config.stage1.workdir={trained_image['tokenizer']}", check=False)
  assert_one_error_line(result, "prior: saved 'maskgit', given 'ar'")
  assert (path.read_text() if path.exists() else None) == before


# 5 ----------------------------------------------------------------------------------------------
def test_a_corrupt_newest_checkpoint_falls_back_and_is_kept_aside(trained_tokenizer):
  for root, _, files in os.walk(trained_tokenizer / "checkpoints" / "20" / "params"):
    for name in files:  # damage every array file of the newest step's parameters
      with open(os.path.join(root, name), "r+b") as f:
        f.truncate(max(0, os.path.getsize(f.name) // 3))
  evaluated = cli("evaluate", TOKENIZER, trained_tokenizer)
  assert "checkpoint of step 20" in evaluated.stdout and "left in place" in evaluated.stdout
  assert json.loads(evaluated.stdout.strip().splitlines()[-1])["step"] == 10
  resumed = cli("train", TOKENIZER, trained_tokenizer, "--config.num_steps=25")
  assert "does not restore" in resumed.stdout and "resumed from step 10" in resumed.stdout
  kept = os.listdir(trained_tokenizer / checkpoint.CORRUPT_DIR)
  assert len(kept) == 1 and kept[0].startswith("20-")
  assert checkpoint.steps(str(trained_tokenizer)) == [10, 20, 25]


# 6 ----------------------------------------------------------------------------------------------
def test_a_workdir_of_another_stage_is_refused_naming_both(trained_image, tmp_path):
  result = cli("evaluate", TOKENIZER, trained_image["prior"], check=False)
  assert_one_error_line(result, "holds a 'image.prior:ImagePrior' stage, not the "
                                "'image.tokenizer:Tokenizer' stage")
  linked = cli("train", "image/prior.py:prior=maskgit,test", tmp_path / "w",
               f"--config.stage1.workdir={trained_image['classifier']}", check=False)
  assert_one_error_line(linked, "holds a 'image.classifier:Classifier' stage, not the "
                                "'image.tokenizer:Tokenizer' stage")


# 7 ----------------------------------------------------------------------------------------------
def test_unusable_workdirs_outputs_config_files_and_arguments_are_one_line(tmp_path, data_dir,
                                                                            trained_image):
  a_file = tmp_path / "file"
  a_file.write_text("")
  assert_one_error_line(cli("train", TOKENIZER, a_file, check=False), "is a file")
  assert_one_error_line(cli("train", TOKENIZER, a_file / "sub", check=False), "is a file")
  # /sys is read-only for every user, root included.
  assert_one_error_line(cli("train", TOKENIZER, "/sys/regen_jax_test", check=False),
                        "is not writable")
  prior = trained_image["prior"]
  for output in (tmp_path / "grid", tmp_path / "grid.jpg"):
    result = cli("sample", "image/prior.py:prior=maskgit,test", prior, f"--output={output}",
                 f"--config.stage1.workdir={trained_image['tokenizer']}", check=False)
    assert_one_error_line(result, "this stage writes .png files")
  assert_one_error_line(cli("train", "image/nothing.py", tmp_path / "w", check=False),
                        "does not exist")
  assert_one_error_line(cli("train", "image/tokenizer.py:tset", tmp_path / "w", check=False),
                        "unknown config argument 'tset'")
  assert not (tmp_path / "w").exists()


# 8 ----------------------------------------------------------------------------------------------
def test_evaluate_while_train_writes_and_deletes_checkpoints(tmp_path, data_dir):
  workdir = tmp_path / "busy"
  trainer = _popen(workdir, "--config.num_steps=400", "--config.checkpoint_every=2",
                   "--config.keep_checkpoints=2", "--config.eval_every=1000",
                   "--config.log_every=50")
  try:
    _wait_for(workdir / "checkpoints" / "4", trainer)
    for _ in range(3):  # steps, intervals and how many to keep are run-time keys
      result = cli("evaluate", TOKENIZER, workdir, check=False)
      assert result.returncode == 0, result.stderr[-3000:]
      assert json.loads(result.stdout.strip().splitlines()[-1])["step"] >= 4
    assert trainer.poll() is None, "train finished before the evaluations overlapped it"
  finally:
    trainer.kill()
    trainer.wait()


# 9 ----------------------------------------------------------------------------------------------
def test_a_batch_that_cannot_fit_in_memory_is_one_line(tmp_path, data_dir):
  started = time.time()
  result = cli("train", TOKENIZER, tmp_path / "w", "--config.batch_size=2000000", check=False)
  assert_one_error_line(result, "out of memory", "lower batch_size (now 2000000)")
  assert time.time() - started < 120
  assert not (tmp_path / "w" / "checkpoints").exists()


def test_sigterm_before_the_first_step_ends_the_run_at_once(tmp_path, data_dir):
  process = _popen(tmp_path / "w")
  try:
    _wait_for(tmp_path / "w" / "train.lock", process)
    time.sleep(0.5)  # the handler is installed right after the lock; compiling takes seconds
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
  finally:
    process.kill()
  assert process.returncode == -signal.SIGTERM


def test_train_restores_the_sigterm_handler_it_installed(tmp_path, data_dir):
  before = signal.getsignal(signal.SIGTERM)
  loop.train(config(TOKENIZER), str(tmp_path / "in_process"))
  assert signal.getsignal(signal.SIGTERM) is before
