"""Mixture priors: X -> Y′ for continuous latents on a grid (`LatentSpec`), autoregressively.

GIVT (Tschannen et al. 2023): a causal transformer over [condition prefix] + the grid's latent
vectors in raster order (`nn.transformer.LatentTransformer`) whose head gives, for the next
vector, a Gaussian mixture of `mixture.components` components with diagonal covariance; trained
by its negative log-likelihood; sampled position by position against a KV cache (one
`lax.scan`), each component's standard deviations scaled by `sampling.temperature` (GIVT's
variance scaling: below 1 trades diversity for fidelity). No guidance.
With a learned stage 1 (a KL autoencoder) this is the regen prior of the continuous route beside
the flow prior.

A domain subclasses `MixturePrior` with its condition encoder and examples
(`priors.conditional.ConditionalPrior`).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from regen_jax.errors import UserError
from regen_jax.nn.transformer import LatentTransformer, decode_positions
from regen_jax.priors.conditional import ConditionalPrior
from regen_jax.stages.specs import LatentSpec

# Standard deviations kept within [e^-7, e^4]: an exact fit of a constant channel would
# otherwise drive the likelihood, and the gradients, to infinity.
_LOG_SCALE_RANGE = (-7.0, 4.0)


def mixture_parameters(out, channels: int):
  """(log mixture weights (..., K), means (..., K, C), log standard deviations (..., K, C)) from
  the head's output (..., K * (1 + 2C))."""
  out = out.reshape(*out.shape[:-1], -1, 1 + 2 * channels)
  log_weights = jax.nn.log_softmax(out[..., 0], axis=-1)
  log_scales = jnp.clip(out[..., 1 + channels:], *_LOG_SCALE_RANGE)
  return log_weights, out[..., 1:1 + channels], log_scales


def mixture_log_density(out, x):
  """log p(x) (...) of vectors x (..., C) under the mixtures the head put out (..., K(1 + 2C))."""
  log_weights, means, log_scales = mixture_parameters(out, x.shape[-1])
  z = (x[..., None, :] - means) * jnp.exp(-log_scales)
  per_component = jnp.sum(-0.5 * z ** 2 - log_scales - 0.5 * math.log(2 * math.pi), axis=-1)
  return jax.nn.logsumexp(log_weights + per_component, axis=-1)


def sample_mixture(out, rng, channels: int, temperature: float):
  """One vector (..., C) from each mixture, standard deviations scaled by `temperature`."""
  log_weights, means, log_scales = mixture_parameters(out, channels)
  component_rng, noise_rng = jax.random.split(rng)
  component = jax.random.categorical(component_rng, log_weights)[..., None, None]
  mean = jnp.take_along_axis(means, component, axis=-2)[..., 0, :]
  scale = jnp.exp(jnp.take_along_axis(log_scales, component, axis=-2)[..., 0, :])
  return mean + temperature * scale * jax.random.normal(noise_rng, mean.shape)


class MixturePrior(ConditionalPrior):
  spec_kind = LatentSpec

  def __init__(self, config, workdir):
    if not config.mixture.components >= 1:
      raise UserError(f"mixture.components must be >= 1, got {config.mixture.components!r}")
    if not config.sampling.temperature > 0:
      raise UserError(f"sampling.temperature must be > 0, got {config.sampling.temperature!r}")
    super().__init__(config, workdir)
    model, channels = config.model, self.spec.channels
    self.model = LatentTransformer(
        num_positions=self.spec.num_positions, condition=self.condition,
        width=model.width, depth=model.depth, num_heads=model.num_heads,
        head_size=config.mixture.components * (1 + 2 * channels), mlp_ratio=model.mlp_ratio,
        dtype=jnp.dtype(config.compute_dtype))

  # The flow priors' Y′ arrays (the grid of vectors): one cache of encoded latents serves both.
  def batch_arrays(self, encoded):
    return {"latents": encoded.astype(np.float32)}

  def y_prime_example(self, batch_size):
    return {"latents": np.zeros((batch_size, *self.spec.grid, self.spec.channels), np.float32)}

  def _sequence(self, batch):
    """The latent grid (B, h, w, C) as vectors in raster order (B, N, C)."""
    return batch["latents"].reshape(batch["latents"].shape[0], self.spec.num_positions, -1)

  # ---- training
  def init(self, rng, batch):
    return self.model.init(rng, self._sequence(batch), self._condition(batch))["params"], {}

  def _nll(self, params, batch):
    """Negative log-likelihood (B, N) of each position's vector given the ones before it."""
    latents, prefix = self._sequence(batch), self.model.condition.length
    out = self.model.apply({"params": params}, latents[:, :-1], self._condition(batch))
    return -mixture_log_density(out[:, prefix - 1:], latents)

  def loss(self, params, model_state, batch, rng, step):
    del rng, step
    return jnp.mean(self._nll(params, batch)) / self.spec.channels, ({}, model_state)

  def eval_metrics(self, params, model_state, batch):
    del model_state
    nll = self._nll(params, batch).sum(-1) * batch["mask"]
    return {"nll": jnp.sum(nll), "values": batch["mask"].sum() * self.spec.num_positions
                                           * self.spec.channels}

  def summarize(self, sums):
    """Nats per latent value (a density: it can be negative)."""
    return {"nll_per_value": sums["nll"] / sums["values"]}

  # ---- sampling
  def sample_y_prime(self, params, condition, rng):
    batch, channels = len(next(iter(condition.values()))), self.spec.channels
    first = jnp.zeros((batch, 1, channels), jnp.float32)
    sample = lambda out, sample_rng: sample_mixture(out, sample_rng, channels,
                                                    self.config.sampling.temperature)
    return decode_positions(self.model.clone(decode=True), params, first, condition,
                            self.spec.num_positions, sample, rng)
