import jax
import jax.numpy as jnp
import numpy as np
import pytest

from regen_jax.abstractions import vq


def _blobs(rng, centers=8, per=64, dim=4):
  means = jax.random.normal(rng, (centers, dim)) * 5
  noise = jax.random.normal(jax.random.fold_in(rng, 1), (centers, per, dim)) * 0.1
  return (means[:, None] + noise).reshape(-1, dim), means


def _distortion(codebook, vectors):
  _, q = vq.quantize(codebook, vectors)
  return float(jnp.mean(jnp.sum((q - vectors) ** 2, -1)))


@pytest.mark.parametrize("seed", range(5))
def test_kmeans_finds_separated_clusters(seed):
  vectors, _ = _blobs(jax.random.key(seed))
  first_center_only = jnp.repeat(vectors[:1], 8, axis=0)
  fitted = vq.kmeans(vectors, 8, jax.random.key(seed + 100), iterations=10)
  assert _distortion(fitted, vectors) < 0.1 < _distortion(first_center_only, vectors)


def test_nearest_matches_brute_force():
  vectors, _ = _blobs(jax.random.key(2))
  codebook = jax.random.normal(jax.random.key(3), (16, 4))
  brute = np.argmin(((np.asarray(vectors)[:, None] - np.asarray(codebook)[None]) ** 2).sum(-1), -1)
  np.testing.assert_array_equal(vq.nearest(codebook, vectors), brute)


def test_ema_update_moves_codes_to_their_cluster_means():
  vectors, means = _blobs(jax.random.key(4))
  state = vq.init_state(means + 1.0)  # every code off its cluster by 1 in each dimension
  ids = vq.nearest(state["codebook"], vectors)
  for _ in range(200):
    state = vq.ema_update(state, vectors, ids, decay=0.9)
  cluster_means = jnp.stack([vectors[ids == k].mean(0) for k in range(8)])
  np.testing.assert_allclose(state["codebook"], cluster_means, atol=1e-3)


def test_dead_codes_are_restarted_on_batch_vectors():
  vectors, means = _blobs(jax.random.key(5))
  codebook = jnp.concatenate([means, jnp.full((8, 4), 100.0)])  # 8 codes far from all data
  state = vq.init_state(codebook)
  ids = vq.nearest(codebook, vectors)
  for _ in range(50):
    state = vq.ema_update(state, vectors, ids, decay=0.9)
  restarted_state, restarted = vq.restart_dead_codes(state, vectors, jax.random.key(6), 1.0)
  assert int(restarted) == 8
  moved = restarted_state["codebook"][8:]
  assert jnp.all(jnp.min(jnp.sum((moved[:, None] - vectors[None]) ** 2, -1), -1) < 1e-8)
  np.testing.assert_array_equal(restarted_state["codebook"][:8], state["codebook"][:8])


def test_usage_and_perplexity():
  usage, perplexity = vq.usage_and_perplexity(jnp.array([5.0, 5, 5, 5, 0, 0, 0, 0]))
  assert float(usage) == 0.5 and abs(float(perplexity) - 4.0) < 1e-5
  usage, perplexity = vq.usage_and_perplexity(jnp.array([1.0, 0, 0, 0]))
  assert float(usage) == 0.25 and abs(float(perplexity) - 1.0) < 1e-6
