"""The pure train step: it descends, its EMA lags, and a non-finite step changes nothing."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from regen_jax.core import state as state_lib


def _quadratic_step(ema_decay, poison_at=None):
  target = jnp.array([3.0, -2.0])

  def loss_fn(params, model_state, batch, rng, step):
    loss = jnp.sum((params["w"] - target) ** 2)
    if poison_at is not None:
      loss = jnp.where(step == poison_at, jnp.nan, loss)
    return loss, ({}, model_state)

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


def test_a_nan_step_keeps_the_last_finite_params_and_records_its_step():
  state, step, _ = _quadratic_step(ema_decay=0.0, poison_at=3)
  for _ in range(3):
    state, _ = step(state)
  before = np.asarray(state.params["w"])
  for _ in range(2):
    state, _ = step(state)
  np.testing.assert_array_equal(state.params["w"], before)
  assert int(state.first_nonfinite_step) == 3
