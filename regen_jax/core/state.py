"""The train state pytree and the one pure training step every stage uses."""

from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import optax


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  model_state: Any          # non-gradient state, e.g. a VQ codebook's EMA statistics
  opt_state: Any
  ema_params: Any           # None when config.ema_decay is 0
  first_nonfinite_step: jax.Array  # -1 while every loss and gradient has been finite

  def eval_params(self):
    return self.params if self.ema_params is None else self.ema_params


def create(params, model_state, tx: optax.GradientTransformation, ema: bool) -> TrainState:
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, model_state=model_state,
                    opt_state=tx.init(params), ema_params=params if ema else None,
                    first_nonfinite_step=jnp.full((), -1, jnp.int32))


def train_step(state: TrainState, batch, rng, *, loss_fn: Callable, tx, ema_decay: float):
  """One update. `loss_fn(params, model_state, batch, rng, step) -> (loss, (metrics, model_state))`.

  A step whose loss or gradients are not finite leaves the state as it was and records its
  number in `first_nonfinite_step`, so a NaN never reaches parameters or checkpoints.
  """
  rng = jax.random.fold_in(rng, state.step)
  grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
  (loss, (metrics, model_state)), grads = grad_fn(state.params, state.model_state, batch, rng,
                                                  state.step)
  grad_norm = optax.tree.norm(grads)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  ema_params = state.ema_params
  if ema_params is not None:
    ema_params = optax.incremental_update(params, ema_params, 1.0 - ema_decay)
  finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm) & (state.first_nonfinite_step < 0)
  keep_new = lambda new, old: jax.tree.map(lambda a, b: jnp.where(finite, a, b), new, old)
  new_state = TrainState(
      step=state.step + 1,
      params=keep_new(params, state.params),
      model_state=keep_new(model_state, state.model_state),
      opt_state=keep_new(opt_state, state.opt_state),
      ema_params=keep_new(ema_params, state.ema_params),
      first_nonfinite_step=jnp.where(finite | (state.first_nonfinite_step >= 0),
                                     state.first_nonfinite_step, state.step))
  metrics = dict(metrics, loss=loss, grad_norm=grad_norm)
  return new_state, metrics
