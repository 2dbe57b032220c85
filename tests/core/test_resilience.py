"""Resume after SIGKILL (bitwise), SIGTERM saves and exits 0, NaN stops with the step named."""

import math
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from regen_jax.core import checkpoint, loop
from regen_jax.stages import base as stage_lib
from tests.helpers import ROOT, cli, config, logged, losses, marking_slow

# Adversarial loss on: the resumed state then holds generator, discriminator and VQ statistics.
_RUN = ("--config.num_steps=200", "--config.checkpoint_every=10", "--config.eval_every=100",
        "--config.adversarial.weight=0.1")
# The vocoder: two param trees with two optimizers (generator, discriminators).
_VOCODER_RUN = ("--config.num_steps=60", "--config.checkpoint_every=10", "--config.eval_every=100",
                "--config.log_every=2")
# CTC stages: SpecAugment draws from the step's key; P2G reads the text corpus.
_CTC_RUN = ("--config.num_steps=60", "--config.checkpoint_every=10", "--config.eval_every=100",
            "--config.log_every=2")
# The video tokenizer: its clips streamed from array_record by a grain worker process, whose
# iterator state is checkpointed.
_STREAMED_RUN = ("--config.num_steps=60", "--config.checkpoint_every=10",
                 "--config.eval_every=100", "--config.log_every=2", "--config.input.workers=1")
# stage -> (config, run, data fixture, whether it trains as a GAN)
STAGES = {"image_tokenizer_gan": ("image/tokenizer.py:test", _RUN, "data_dir", True),
          "video_tokenizer": ("video/tokenizer.py:test", _STREAMED_RUN, "video_data_dir", False),
          "tts_vocoder": ("tts/vocoder.py:test", _VOCODER_RUN, "speech_data_dir", True),
          "asr_recognizer": ("asr/recognizer.py:test", _CTC_RUN, "speech_data_dir", False),
          "asr_p2g": ("asr/p2g.py:test", _CTC_RUN, "speech_data_dir", False)}


def _start(workdir, *overrides, config_name="image/tokenizer.py:test", run=_RUN):
  args = [sys.executable, "-m", "regen_jax", "train", "--config",
          os.path.join(ROOT, "configs", config_name), "--workdir", str(workdir), *run, *overrides]
  return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_checkpoint(workdir, step, process, timeout=240):
  deadline = time.time() + timeout
  path = os.path.join(workdir, "checkpoints", str(step))
  while not os.path.isdir(path):
    assert process.poll() is None, process.communicate()[1][-2000:]
    assert time.time() < deadline, "no checkpoint in time"
    time.sleep(0.05)


# P2G resumes through the same CTC path as the recognizer; it and the video tokenizer (74 s)
# run with `make test-slow`, for the 25-minute budget of `make test`.
@pytest.mark.parametrize("stage", marking_slow(sorted(STAGES), slow={"asr_p2g", "video_tokenizer"}))
def test_resume_after_sigkill_reproduces_every_logged_loss_bitwise(tmp_path, stage, request):
  config_name, run, data, gan = STAGES[stage]
  request.getfixturevalue(data)
  reference = tmp_path / "uninterrupted"
  cli("train", config_name, reference, *run)
  killed = tmp_path / "killed"
  process = _start(killed, config_name=config_name, run=run)
  try:
    _wait_for_checkpoint(killed, 20, process)
  finally:
    process.kill()
    process.wait()
  assert len(losses(killed)) < len(losses(reference))  # it really stopped early
  resumed = cli("train", config_name, killed, *run)
  assert "resumed from step" in resumed.stdout
  expected, got = losses(reference), losses(killed)
  if gan:
    adversarial = [row for row in logged(reference) if row["step"] > 5 and "discriminator" in row]
    assert adversarial and all(row["discriminator"] > 0 for row in adversarial)  # the GAN is on
  assert sorted(got) == sorted(expected)
  for step, values in got.items():
    assert values == [expected[step][0]] * len(values), step


def test_sigterm_saves_a_checkpoint_and_exits_zero(tmp_path, data_dir):
  process = _start(tmp_path / "run")
  try:
    _wait_for_checkpoint(tmp_path / "run", 20, process)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
  finally:
    process.kill()
  assert process.returncode == 0, stderr[-2000:]
  saved = [line for line in stdout.splitlines() if line.startswith("SIGTERM: saved step")]
  assert saved, stdout[-2000:]
  step = int(saved[0].split()[3].rstrip(","))
  assert 20 <= step < 200
  assert checkpoint.steps(str(tmp_path / "run"))[-1] == step


def test_nan_loss_stops_with_the_step_and_no_nan_checkpoint(tmp_path, data_dir, monkeypatch):
  tokenizer = config("image/tokenizer.py:test")
  tokenizer.num_steps, tokenizer.checkpoint_every, tokenizer.log_every = 30, 4, 5
  bad_step = 6
  real_build = stage_lib.build

  def build_poisoned(config, workdir=None):
    stage = real_build(config, workdir)
    honest_loss = stage.loss

    def loss(params, model_state, batch, rng, step):
      value, aux = honest_loss(params, model_state, batch, rng, step)
      return jax.numpy.where(step >= bad_step, jax.numpy.nan, value), aux
    stage.loss = loss
    return stage

  monkeypatch.setattr(stage_lib, "build", build_poisoned)
  workdir = str(tmp_path / "nan")
  with pytest.raises(loop.TrainingDiverged, match=f"NaN/Inf at step {bad_step}"):
    loop.train(tokenizer, workdir)
  assert max(checkpoint.steps(workdir)) <= bad_step
  monkeypatch.setattr(stage_lib, "build", real_build)
  _, params, vq_state, _ = loop.restore_for_inference(tokenizer, workdir)
  leaves = jax.tree.leaves((params, vq_state))
  assert all(np.all(np.isfinite(np.asarray(leaf))) for leaf in leaves)
  assert not math.isnan(losses(workdir)[5][0])
