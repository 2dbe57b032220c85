"""The GIVT-style mixture prior: its density, KV-cache decoding, sampling and settings (trained
with the continuous route in test_flow.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from regen_jax.errors import UserError
from regen_jax.nn.transformer import LatentTransformer
from regen_jax.priors import mixture
from regen_jax.priors.conditions import ClassLabel
from regen_jax.stages import base as stage_lib
from tests.helpers import config


def test_mixture_density_is_the_gaussians():
  x = jnp.array([[0.3, -1.2], [2.0, 0.5]])
  means, log_scales = jnp.array([[0.1, -1.0], [1.5, 0.0]]), jnp.array([[0.2, -0.3], [0.0, 0.4]])
  one = jnp.concatenate([jnp.zeros((2, 1)), means, log_scales], axis=-1)  # K = 1
  expected = stats.norm.logpdf(x, means, np.exp(log_scales)).sum(-1)
  np.testing.assert_allclose(mixture.mixture_log_density(one, x), expected, rtol=1e-5)
  two = jnp.concatenate([one, one], axis=-1)  # two equal components: the same density
  np.testing.assert_allclose(mixture.mixture_log_density(two, x), expected, rtol=1e-5)
  far = jnp.concatenate([one, one.at[:, 1:3].add(50.0).at[:, 0].set(-3.0)], axis=-1)
  weights = jax.nn.softmax(jnp.array([0.0, -3.0]))  # the far component adds ~nothing
  np.testing.assert_allclose(mixture.mixture_log_density(far, x), expected + np.log(weights[0]),
                             rtol=1e-5)


def test_kv_cache_decoding_equals_the_full_causal_forward():
  model = LatentTransformer(num_positions=5, condition=ClassLabel(4, 16), width=16, depth=2,
                            num_heads=2, head_size=14)
  latents, inputs = jax.random.normal(jax.random.key(0), (2, 5, 3)), {"label": jnp.array([1, 3])}
  params = model.init(jax.random.key(1), latents, inputs)["params"]
  full = model.apply({"params": params}, latents[:, :-1], inputs)  # prefix 1 + 4 positions
  decoder = model.clone(decode=True)
  cache = jax.tree.map(jnp.zeros_like,
                       decoder.init(jax.random.key(2), latents[:, :1], inputs)["cache"])
  sequence = jnp.concatenate([jnp.zeros_like(latents[:, :1]), latents[:, :-1]], axis=1)
  for i in range(5):
    out, variables = decoder.apply({"params": params, "cache": cache}, sequence[:, i:i + 1],
                                   inputs, mutable=["cache"])
    cache = variables["cache"]
    np.testing.assert_allclose(out[:, 0], full[:, i], atol=1e-5)


def test_sampling_follows_the_mixture_and_temperature_scales_its_spread():
  out = jnp.tile(jnp.array([0.0, 2.0, -1.0, np.log(0.5), np.log(0.5)]), (4000, 1))  # K = 1, C = 2
  rng = jax.random.key(0)
  samples = np.asarray(mixture.sample_mixture(out, rng, 2, 1.0))
  np.testing.assert_allclose(samples.mean(0), [2.0, -1.0], atol=0.05)
  np.testing.assert_allclose(samples.std(0), [0.5, 0.5], atol=0.03)
  cooler = np.asarray(mixture.sample_mixture(out, rng, 2, 0.5))
  np.testing.assert_allclose(cooler.std(0), [0.25, 0.25], atol=0.02)


def test_temperature_must_be_positive(data_dir):
  prior = config("image/givt.py:test")
  prior.stage1 = config("image/pixel_flow.py:test").stage1
  prior.sampling.temperature = 0.0
  with pytest.raises(UserError, match="sampling.temperature must be > 0"):
    stage_lib.build(prior)
