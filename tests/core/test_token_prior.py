"""The token priors' transformer: KV-cache decoding equals the full causal forward (with a
prefix of one or two condition vectors), causality, and the MaskGIT schedule."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from regen_jax.nn.transformer import TokenTransformer
from regen_jax.priors import tokens
from regen_jax.priors.conditions import ClassLabel


class TwoVectors(nn.Module):
  """A condition of two prefix vectors: a class and a second, learned one."""
  width: int
  length = 2

  @nn.compact
  def __call__(self, inputs):
    first = nn.Embed(4, self.width, name="first")(inputs["label"])[:, None]
    second = nn.Embed(3, self.width, name="second")(inputs["other"])[:, None]
    return jnp.concatenate([first, second], axis=1)


def _model(condition, causal=True):
  return TokenTransformer(vocab_size=11, tokens_per_position=3, num_positions=6,
                          condition=condition, width=32, depth=2, num_heads=4, causal=causal)


CONDITIONS = {"class": (ClassLabel(4, 32), {"label": jnp.array([1, 3])}),
              "two_vectors": (TwoVectors(32), {"label": jnp.array([1, 3]),
                                               "other": jnp.array([2, 0])})}


@pytest.fixture(scope="module", params=sorted(CONDITIONS))
def causal_model(request):
  condition, inputs = CONDITIONS[request.param]
  model = _model(condition)
  tokens_ = jax.random.randint(jax.random.key(0), (2, 6, 3), 0, 11)
  params = model.init(jax.random.key(1), tokens_, inputs)["params"]
  return model, params, tokens_, inputs


def test_kv_cache_decoding_equals_the_full_causal_forward(causal_model):
  model, params, tokens_, inputs = causal_model
  prefix = model.condition.length
  full = model.apply({"params": params}, tokens_[:, :-1], inputs)  # (2, prefix + 5, 3, 11)
  decoder = model.clone(decode=True)
  cache = decoder.init(jax.random.key(2), tokens_[:, :1], inputs)["cache"]
  cache = jax.tree.map(jnp.zeros_like, cache)
  dummy = jnp.zeros_like(tokens_[:, :1])
  sequence = jnp.concatenate([dummy] * prefix + [tokens_[:, :-1]], axis=1)
  for i in range(prefix + 5):
    logits, variables = decoder.apply({"params": params, "cache": cache}, sequence[:, i:i + 1],
                                      inputs, mutable=["cache"])
    cache = variables["cache"]
    np.testing.assert_allclose(logits[:, 0], full[:, i], atol=1e-5)


def test_causal_model_ignores_future_tokens(causal_model):
  model, params, tokens_, inputs = causal_model
  prefix = model.condition.length
  changed = tokens_.at[:, 4:].set((tokens_[:, 4:] + 1) % 11)
  a = model.apply({"params": params}, tokens_, inputs)
  b = model.apply({"params": params}, changed, inputs)
  np.testing.assert_allclose(a[:, :prefix + 4], b[:, :prefix + 4], atol=1e-6)  # see tokens < 4
  assert not np.allclose(a[:, prefix + 4:], b[:, prefix + 4:])


def test_maskgit_schedule_unmasks_everything_by_its_last_step():
  counts, temperatures = tokens.maskgit_schedule(49, 8, 4.5)
  assert list(np.asarray(counts)) == sorted(np.asarray(counts), reverse=True)
  assert int(counts[-1]) == 0 and int(counts[0]) < 49
  np.testing.assert_allclose(temperatures[-1], 0.0)
  mask = np.asarray(tokens.random_mask(jax.random.key(0), 64, 49))
  assert mask.sum(1).min() >= 1  # a training row always has a masked position


def test_maskgit_confidence_is_per_token_whatever_a_position_holds():
  one_code = jnp.log(jnp.array([[[0.5], [0.2]]]))  # (B, N, T=1)
  sixteen_pixels = jnp.repeat(one_code, 16, axis=-1)  # the same certainty in each of 16 tokens
  np.testing.assert_allclose(tokens.position_confidence(sixteen_pixels),
                             tokens.position_confidence(one_code), rtol=1e-6)
  np.testing.assert_allclose(tokens.position_confidence(one_code), one_code[..., 0])
