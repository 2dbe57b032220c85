import jax
import jax.numpy as jnp
import numpy as np
import pytest

from regen_jax.abstractions.pixels import PixelPatches
from regen_jax.errors import UserError
from regen_jax.evaluate.metrics import frechet_distance
from regen_jax.models.transformer import TokenTransformer

_MODEL = dict(vocab_size=11, tokens_per_position=3, num_positions=6, num_classes=4, width=32,
              depth=2, num_heads=4)


@pytest.fixture(scope="module")
def causal_model():
  model = TokenTransformer(**_MODEL, causal=True)
  tokens = jax.random.randint(jax.random.key(0), (2, 6, 3), 0, 11)
  labels = jnp.array([1, 3])
  params = model.init(jax.random.key(1), tokens, labels)["params"]
  return model, params, tokens, labels


def test_kv_cache_decoding_equals_the_full_causal_forward(causal_model):
  model, params, tokens, labels = causal_model
  full = model.apply({"params": params}, tokens[:, :-1], labels)  # (2, 6, 3, 11)
  decoder = model.clone(decode=True)
  cache = decoder.init(jax.random.key(2), tokens[:, :1], labels)["cache"]
  cache = jax.tree.map(jnp.zeros_like, cache)
  inputs = jnp.concatenate([jnp.zeros_like(tokens[:, :1]), tokens[:, :-1]], axis=1)
  for i in range(6):
    logits, variables = decoder.apply({"params": params, "cache": cache}, inputs[:, i:i + 1],
                                      labels, mutable=["cache"])
    cache = variables["cache"]
    np.testing.assert_allclose(logits[:, 0], full[:, i], atol=1e-5)


def test_causal_model_ignores_future_tokens(causal_model):
  model, params, tokens, labels = causal_model
  changed = tokens.at[:, 4:].set((tokens[:, 4:] + 1) % 11)
  a = model.apply({"params": params}, tokens, labels)
  b = model.apply({"params": params}, changed, labels)
  np.testing.assert_allclose(a[:, :5], b[:, :5], atol=1e-6)  # outputs 0..4 see tokens < 4 only
  assert not np.allclose(a[:, 5:], b[:, 5:])


def test_pixel_patches_round_trip_within_quantization_error():
  abstraction = PixelPatches((28, 28, 1), patch_size=4, levels=16)
  images = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
  tokens = abstraction.encode(images)
  assert tokens.shape == (3, 7, 7, 16) and int(tokens.max()) < 16
  decoded = np.asarray(abstraction.decode(tokens))
  assert np.max(np.abs(decoded - images / 255.0)) <= 0.5 / 16 + 1e-6
  np.testing.assert_array_equal(abstraction.encode((decoded * 255).round().astype(np.uint8)), tokens)


def test_encode_refuses_images_of_the_wrong_shape_or_type():
  abstraction = PixelPatches((28, 28, 1), patch_size=4, levels=16)
  with pytest.raises(UserError, match=r"encode expects uint8 images of shape \(batch, 28, 28, 1\)"):
    abstraction.encode(np.zeros((2, 32, 32, 3), np.uint8))
  with pytest.raises(UserError, match="got float32"):
    abstraction.encode(np.zeros((2, 28, 28, 1), np.float32))


def test_frechet_distance_is_zero_for_equal_sets_and_grows_with_a_shift():
  features = np.random.default_rng(1).normal(size=(500, 8))
  assert abs(frechet_distance(features, features)) < 1e-6
  shifted = frechet_distance(features, features + 2.0)
  assert abs(shifted - 8 * 4.0) < 1e-6  # |mean shift|^2, covariances equal
