"""Stage tasks in-process with tiny configs: samplers, bf16 compute, EMA and the step's guard."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import image_direct
from regen_jax.tasks import tokenizer
from regen_jax.train import loop
from regen_jax.train import state as state_lib


@pytest.fixture(scope="module", params=["ar", "maskgit"])
def direct_prior(request, data_dir):
  config = image_direct.get_config(f"prior={request.param},test")
  task = loop.build_task(config)
  params, _ = task.init(jax.random.key(0), task.example_batch(4))
  return task, params


def test_samplers_fill_every_position_with_a_real_token(direct_prior):
  task, params = direct_prior
  labels = jnp.arange(4)
  tokens = jax.jit(task.sample_tokens)(params, labels, jax.random.key(1))
  assert tokens.shape == (4, 49, 16)
  assert int(tokens.min()) >= 0 and int(tokens.max()) < task.abstraction.vocab_size  # no [MASK]
  images = task.sample_images(params, np.arange(3), jax.random.key(2))
  assert images.shape == (3, 28, 28, 1) and 0 <= images.min() and images.max() <= 1


def test_maskgit_schedule_is_at_most_twelve_steps(data_dir):
  config = image_direct.get_config("prior=maskgit")
  assert config.sampling.maskgit_steps <= 12


def test_bf16_compute_keeps_float32_params_and_a_finite_loss(data_dir):
  config = tokenizer.default_config(test=True)
  config.compute_dtype = "bfloat16"
  task = loop.build_task(config)
  batch = {"image": np.random.default_rng(0).integers(0, 256, (8, 28, 28, 1), dtype=np.uint8)}
  params, vq_state = task.init(jax.random.key(0), batch)
  assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(params))
  loss, _ = task.loss(params, vq_state, batch, jax.random.key(1), jnp.int32(0))
  assert loss.dtype == jnp.float32 and np.isfinite(float(loss))


def _quadratic_step(ema_decay):
  target = jnp.array([3.0, -2.0])
  loss_fn = lambda p, s, batch, rng, step: (jnp.sum((p["w"] - target) ** 2), ({}, s))
  tx = optax.sgd(0.1)
  state = state_lib.create({"w": jnp.zeros(2)}, {}, tx, ema=ema_decay > 0)
  step = jax.jit(lambda s: state_lib.train_step(s, {}, jax.random.key(0), loss_fn=loss_fn, tx=tx,
                                                ema_decay=ema_decay))
  return state, step, target


def test_train_step_descends_and_ema_lags_the_params():
  state, step, target = _quadratic_step(ema_decay=0.9)
  first_loss = None
  for _ in range(50):
    state, metrics = step(state)
    first_loss = metrics["loss"] if first_loss is None else first_loss
  assert float(metrics["loss"]) < 1e-3 * float(first_loss)
  np.testing.assert_allclose(state.params["w"], target, atol=1e-2)
  ema_gap = jnp.abs(state.ema_params["w"] - target)
  assert jnp.all(ema_gap > jnp.abs(state.params["w"] - target))  # the average trails the iterate
  assert int(state.step) == 50 and int(state.first_nonfinite_step) == -1
