"""Flow priors: X -> Y′ for a stage 1 whose Y′ is continuous latents on a grid (`LatentSpec`).

Rectified flow (Liu et al. 2022; flow matching, Lipman et al. 2022): a path
x_t = (1 - t) x + t ε from data (t = 0) to Gaussian noise (t = 1), and a denoiser (`nn.dit.DiT`)
regressing its velocity ε - x at logit-normal times (Esser et al. 2024). Classifier-free
guidance (Ho & Salimans 2022): the condition is dropped for `flow.condition_dropout` of the
training rows, and sampling follows v_null + guidance (v_cond - v_null). Sampling integrates
the ODE from t = 1 to 0 in `sampling.steps` uniform steps of Euler or Heun (one `lax.fori_loop`):
deterministic given the initial noise, so given the seed.
With a learned stage 1 (a KL autoencoder) this is latent flow matching, the regen prior; with
the pixel rule (`abstractions.pixels.PixelValues`) it is the direct baseline on pixels.

A domain subclasses `FlowPrior` with its condition encoder and examples
(`priors.conditional.ConditionalPrior`).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from regen_jax.errors import UserError
from regen_jax.nn.dit import DiT
from regen_jax.priors.conditional import ConditionalPrior
from regen_jax.stages.specs import LatentSpec

SOLVERS = ("euler", "heun")
_EVAL_SEED = 0


class ConditionalDenoiser(nn.Module):
  """The condition encoder's prefix, averaged to one vector, conditions a DiT."""
  condition: nn.Module
  denoiser: DiT

  def __call__(self, x, t, condition_inputs, drop):
    condition = self.condition(condition_inputs).mean(axis=1)
    return self.denoiser(x, t, condition, drop)


def check_sampling(sampling):
  """One error line for sampling settings that cannot run."""
  if sampling.solver not in SOLVERS:
    raise UserError(f"sampling.solver must be one of {', '.join(SOLVERS)}, got "
                    f"{sampling.solver!r}")
  if not (isinstance(sampling.steps, int) and sampling.steps >= 1):
    raise UserError(f"sampling.steps must be an integer >= 1, got {sampling.steps!r}")
  if not sampling.guidance >= 0:
    raise UserError(f"sampling.guidance must be >= 0 (1 = the conditional model, 0 = the "
                    f"unconditional one), got {sampling.guidance!r}")


def guided_velocity(velocity, x, t, condition, guidance: float):
  """v_null + guidance (v_cond - v_null), both from one call of `velocity(x, t, condition,
  drop)` on the batch stacked twice."""
  batch = x.shape[0]
  twice = lambda a: jnp.concatenate([a, a])
  both = velocity(twice(x), twice(t), jax.tree.map(twice, condition),
                  jnp.arange(2 * batch) >= batch)
  conditional, unconditional = both[:batch], both[batch:]
  return unconditional + guidance * (conditional - unconditional)


def integrate(velocity, noise, steps: int, solver: str):
  """x at t = 0 from `noise` at t = 1 along dx/dt = velocity(x, t), in `steps` uniform steps."""
  times = jnp.linspace(1.0, 0.0, steps + 1)

  def step(i, x):
    t, dt = times[i], times[i + 1] - times[i]
    v = velocity(x, t)
    if solver == "heun":
      v = (v + velocity(x + dt * v, times[i + 1])) / 2
    return x + dt * v

  return jax.lax.fori_loop(0, steps, step, noise)


class FlowPrior(ConditionalPrior):
  spec_kind = LatentSpec

  def __init__(self, config, workdir):
    check_sampling(config.sampling)
    super().__init__(config, workdir)
    model = config.model
    if any(size % model.patch_size for size in self.spec.grid):
      raise UserError(f"model.patch_size {model.patch_size} does not divide stage 1's grid "
                      f"{'x'.join(map(str, self.spec.grid))}")
    self.model = ConditionalDenoiser(self.condition, DiT(
        patch_size=model.patch_size, width=model.width, depth=model.depth,
        num_heads=model.num_heads, mlp_ratio=model.mlp_ratio,
        dtype=jnp.dtype(config.compute_dtype)))

  def batch_arrays(self, encoded):
    return {"latents": encoded.astype(np.float32)}

  def y_prime_example(self, batch_size):
    return {"latents": np.zeros((batch_size, *self.spec.grid, self.spec.channels), np.float32)}

  def velocity(self, params, x, t, condition, drop):
    return self.model.apply({"params": params}, x, t, condition, drop)

  # ---- training
  def init(self, rng, batch):
    x = batch["latents"]
    no_drop = jnp.zeros(x.shape[0], bool)
    return self.model.init(rng, x, jnp.zeros(x.shape[0]), self._condition(batch),
                           no_drop)["params"], {}

  def _flow_errors(self, params, batch, rng, drop):
    """Squared error (B,) of the velocity at a random time on the path, per example."""
    x = batch["latents"]
    time_rng, noise_rng = jax.random.split(rng)
    t = jax.nn.sigmoid(jax.random.normal(time_rng, (x.shape[0],)))  # logit-normal
    noise = jax.random.normal(noise_rng, x.shape)
    x_t = (1 - t[:, None, None, None]) * x + t[:, None, None, None] * noise
    v = self.velocity(params, x_t, t, self._condition(batch), drop)
    return jnp.mean((v - (noise - x)) ** 2, axis=(1, 2, 3))

  def loss(self, params, model_state, batch, rng, step):
    del step
    path_rng, drop_rng = jax.random.split(rng)
    rows = batch["latents"].shape[0]
    drop = jax.random.bernoulli(drop_rng, self.config.flow.condition_dropout, (rows,))
    return jnp.mean(self._flow_errors(params, batch, path_rng, drop)), ({}, model_state)

  def eval_metrics(self, params, model_state, batch):
    """The conditional flow-matching loss at fixed noise and times: comparable across runs."""
    del model_state
    rows = batch["latents"].shape[0]
    errors = self._flow_errors(params, batch, jax.random.key(_EVAL_SEED), jnp.zeros(rows, bool))
    return {"count": batch["mask"].sum(), "flow_mse": jnp.sum(batch["mask"] * errors)}

  def summarize(self, sums):
    return {"flow_mse": sums["flow_mse"] / sums["count"]}

  # ---- sampling
  def sample_y_prime(self, params, condition, rng):
    cfg = self.config.sampling
    batch = len(next(iter(condition.values())))
    noise = jax.random.normal(rng, (batch, *self.spec.grid, self.spec.channels))
    conditional = lambda x, t, c, drop: self.velocity(params, x, t, c, drop)

    def velocity(x, t):
      times = jnp.full((batch,), t)
      if cfg.guidance == 1:  # exactly the conditional model: the null term's weight is 0
        return conditional(x, times, condition, jnp.zeros(batch, bool))
      return guided_velocity(conditional, x, times, condition, cfg.guidance)

    return integrate(velocity, noise, cfg.steps, cfg.solver)
