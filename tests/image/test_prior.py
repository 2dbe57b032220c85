"""The token prior family bound to images, in process: samplers, schedule, bf16 compute."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from regen_jax.stages import base as stage_lib
from tests.helpers import config


@pytest.fixture(scope="module", params=["ar", "maskgit"])
def direct_prior(request, data_dir):
  stage = stage_lib.build(config(f"image/direct.py:prior={request.param},test"))
  params, _ = stage.init(jax.random.key(0), stage.example_batch(4))
  return stage, params


def test_samplers_fill_every_position_with_a_real_token(direct_prior):
  stage, params = direct_prior
  labels = {"label": jnp.arange(4)}
  tokens = jax.jit(stage.sample_y_prime)(params, labels, jax.random.key(1))
  assert tokens.shape == (4, 49, 16)
  assert int(tokens.min()) >= 0 and int(tokens.max()) < stage.spec.vocab_size  # no [MASK]
  images = stage.sample_y(params, {"label": np.arange(3)}, jax.random.key(2))
  assert images.shape == (3, 28, 28, 1) and 0 <= images.min() and images.max() <= 1


def test_maskgit_schedule_is_at_most_twelve_steps():
  assert config("image/direct.py:prior=maskgit").sampling.maskgit_steps <= 12


def test_bf16_compute_keeps_float32_params_and_a_finite_loss(data_dir):
  tokenizer = config("image/tokenizer.py:test")
  tokenizer.compute_dtype = "bfloat16"
  stage = stage_lib.build(tokenizer)
  batch = {"image": np.random.default_rng(0).integers(0, 256, (8, 28, 28, 1), dtype=np.uint8)}
  params, vq_state = stage.init(jax.random.key(0), batch)
  assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(params))
  loss, _ = stage.loss(params, vq_state, batch, jax.random.key(1), jnp.int32(0))
  assert loss.dtype == jnp.float32 and np.isfinite(float(loss))


def test_maskgit_decoding_is_one_loop_whatever_its_steps(data_dir):
  """Parallel decoding is a `lax.fori_loop`: its program does not grow with the steps."""
  sizes = []
  for steps in (2, 8):
    prior = config("image/direct.py:prior=maskgit,test")
    prior.sampling.maskgit_steps = steps
    stage = stage_lib.build(prior)
    params = jax.eval_shape(stage.init, jax.random.key(0), stage.example_batch(2))[0]
    jaxpr = jax.make_jaxpr(stage.sample_y_prime)(params, {"label": jnp.zeros(2, jnp.int32)},
                                                jax.random.key(0))
    sizes.append(len(jaxpr.eqns))
  assert sizes[0] == sizes[1]
