"""The token prior family bound to images, in process: samplers, schedule, bf16 compute."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from regen_jax.errors import UserError
from regen_jax.stages import base as stage_lib
from tests.helpers import config


# Both families with the autoregressive head inside each patch; MaskGIT with one linear head too.
@pytest.fixture(scope="module", params=["ar", "maskgit", "maskgit,head=independent"])
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


@pytest.fixture(scope="module")
def patch_head_prior(data_dir):
  stage = stage_lib.build(config("image/direct.py:prior=maskgit,test"))
  params, _ = stage.init(jax.random.key(0), stage.example_batch(2))
  features = jax.random.normal(jax.random.key(1), (2, 3, stage.config.model.width))
  return stage, params, features


def test_patch_head_sees_only_the_pixels_before_each_one(patch_head_prior):
  stage, params, features = patch_head_prior
  tokens = jax.random.randint(jax.random.key(2), (2, 3, 16), 0, 16)
  logits = stage._logits(params, features, tokens)
  changed = tokens.at[:, :, 9:].set((tokens[:, :, 9:] + 1) % 16)
  after = stage._logits(params, features, changed)
  np.testing.assert_allclose(after[:, :, :10], logits[:, :, :10], atol=1e-5)
  assert not np.allclose(after[:, :, 10:], logits[:, :, 10:], atol=1e-3)


def test_patch_head_sampling_scores_its_tokens_as_teacher_forcing_does(patch_head_prior):
  """The KV-cached sampler and the teacher-forced head are one model: the log-probabilities the
  sampler reports are those of its tokens under teacher forcing."""
  stage, params, features = patch_head_prior
  tokens, log_probs = jax.jit(stage._sample_tokens, static_argnums=3)(
      params, features, jax.random.key(3), 1.0)
  assert tokens.shape == (2, 3, 16) and int(tokens.min()) >= 0 and int(tokens.max()) < 16
  forced = jax.nn.log_softmax(stage._logits(params, features, tokens))
  np.testing.assert_allclose(log_probs, jnp.take_along_axis(forced, tokens[..., None], -1)[..., 0],
                             atol=1e-4)


def test_unknown_patch_head_is_one_error_line():
  with pytest.raises(UserError, match="head must be one of autoregressive, independent"):
    config("image/direct.py:head=pixelcnn")


def test_patch_head_prior_loss_falls_on_real_pixels(patch_head_prior):
  stage = patch_head_prior[0]
  batch = {k: v[:32] for k, v in stage.train_arrays.items()}
  params, model_state = stage.init(jax.random.key(0), batch)
  tx = optax.adam(3e-3)

  @jax.jit
  def step(params, opt_state, rng):
    (loss, _), grads = jax.value_and_grad(stage.loss, has_aux=True)(
        params, model_state, batch, rng, jnp.int32(0))
    updates, opt_state = tx.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state, loss

  opt_state, losses = tx.init(params), []
  for i in range(40):
    params, opt_state, loss = step(params, opt_state, jax.random.key(i))
    losses.append(float(loss))
  assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])


def test_autoregressive_trunk_scores_each_patch_from_the_patches_before_it(data_dir):
  """The trunk's output at position i feeds patch i's head (shifted by the condition prefix):
  patch i's NLL changes with patch i - 1 (its own targets aside) and not with any patch after i."""
  stage = stage_lib.build(config("image/direct.py:prior=ar,test"))
  batch = stage.example_batch(2)
  params, _ = stage.init(jax.random.key(0), batch)
  batch["tokens"] = jax.random.randint(jax.random.key(1), (2, 49, 16), 0, 16)
  nll = lambda tokens: stage._token_nll(params, {**batch, "tokens": tokens}, jax.random.key(2))[0]
  before = nll(batch["tokens"])
  later_changed = nll(batch["tokens"].at[:, 21:].set((batch["tokens"][:, 21:] + 1) % 16))
  np.testing.assert_allclose(later_changed[:, :21], before[:, :21], rtol=1e-5)
  earlier_changed = nll(batch["tokens"].at[:, 19].set((batch["tokens"][:, 19] + 1) % 16))
  np.testing.assert_allclose(earlier_changed[:, :19], before[:, :19], rtol=1e-5)
  assert not np.allclose(earlier_changed[:, 20], before[:, 20], rtol=1e-3)
