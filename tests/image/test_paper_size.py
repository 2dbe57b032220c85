"""The paper-size image configs compile and take two training steps on CPU at batch 1, on random
256x256 RGB images (the datasets they name are not on this machine): minutes, so `slow`."""

import jax
import numpy as np
import pytest

from regen_jax.core import optimizer
from regen_jax.core import state as state_lib
from regen_jax.domains.image import data as image_data
from regen_jax.stages import base as stage_lib
from regen_jax.stages import pairing
from tests.helpers import config

IMAGE_SHAPE, NUM_CLASSES = (256, 256, 3), 1000


@pytest.fixture
def imagenet_shapes(monkeypatch):
  monkeypatch.setattr(image_data, "shape_and_classes", lambda *_: (IMAGE_SHAPE, NUM_CLASSES))


def two_steps(stage, stage_config, batch):
  tx = optimizer.make(stage_config)
  ema = stage_config.ema_decay > 0
  # Initialised in one jit, as the loop does: distinct buffers (a VQ state aliases its codebook).
  state = jax.jit(lambda rng, b: state_lib.create(*stage.init(rng, b), tx, ema=ema))(
      jax.random.key(0), batch)
  step = jax.jit(lambda s, b, r: state_lib.train_step(s, b, r, loss_fn=stage.loss, tx=tx,
                                                      ema_decay=stage_config.ema_decay),
                 donate_argnums=(0,))
  for i in range(2):
    state, metrics = step(state, batch, jax.random.key(i))
  assert np.isfinite(float(metrics["loss"]))
  return state.params


def random_images(batch_size=1):
  return np.random.default_rng(0).integers(0, 256, (batch_size, *IMAGE_SHAPE), dtype=np.uint8)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["image/autoencoder.py:paper", "image/tokenizer.py:paper"])
def test_paper_size_stage1_takes_two_steps(imagenet_shapes, name):
  stage_config = config(name)
  stage = stage_lib.build(stage_config)
  two_steps(stage, stage_config, {"image": random_images(), "label": np.zeros(1, np.int64)})


@pytest.mark.slow
def test_paper_size_dit_takes_two_steps_on_the_latents_of_the_paper_autoencoder(imagenet_shapes,
                                                                                monkeypatch):
  prior_config = config("image/flow.py:paper")
  autoencoder = stage_lib.build(prior_config.stage1)
  params, stats = autoencoder.init(jax.random.key(0), {"image": random_images()})
  latents = autoencoder.abstraction(params, stats, step=0)
  assert latents.spec.grid == (32, 32) and latents.spec.channels == 4
  monkeypatch.setattr(pairing, "load_stage1", lambda _: latents)
  prior = stage_lib.build(prior_config)
  batch = {"latents": np.asarray(latents.encode(random_images())), "label": np.zeros(1, np.int64)}
  params = two_steps(prior, prior_config, batch)
  assert sum(x.size for x in jax.tree.leaves(params)) > 100e6  # DiT-B/2: ≈ 130 M
