"""Vector quantization with an EMA codebook, k-means initialisation and dead-code restarts.

Pure functions over a small state dict {'codebook', 'cluster_size', 'embed_sum'}: the codebook
is not trained by gradients, so it lives in the train state's `model_state`, updated each step.
"""

import jax
import jax.numpy as jnp


def nearest(codebook, vectors):
  """Ids of the nearest codes (squared L2) for (..., D) vectors."""
  distances = (jnp.sum(vectors**2, -1, keepdims=True) - 2 * vectors @ codebook.T
               + jnp.sum(codebook**2, -1))
  return jnp.argmin(distances, axis=-1)


def quantize(codebook, vectors):
  """Returns (ids, quantized vectors)."""
  ids = nearest(codebook, vectors)
  return ids, codebook[ids]


def kmeans_plus_plus(vectors, num_codes: int, rng):
  """k-means++ seeding: each new center drawn with probability ∝ squared distance to the chosen."""
  first_rng, rng = jax.random.split(rng)
  first = vectors[jax.random.randint(first_rng, (), 0, vectors.shape[0])]
  centers = jnp.zeros((num_codes, vectors.shape[-1]), vectors.dtype).at[0].set(first)
  nearest_sq = jnp.sum((vectors - first) ** 2, -1)

  def pick(i, carry):
    centers, nearest_sq = carry
    logits = jnp.log(jnp.maximum(nearest_sq, 1e-30))
    chosen = vectors[jax.random.categorical(jax.random.fold_in(rng, i), logits)]
    nearest_sq = jnp.minimum(nearest_sq, jnp.sum((vectors - chosen) ** 2, -1))
    return centers.at[i].set(chosen), nearest_sq

  return jax.lax.fori_loop(1, num_codes, pick, (centers, nearest_sq))[0]


def kmeans(vectors, num_codes: int, rng, iterations: int):
  """Lloyd's k-means from k-means++ seeds; an empty cluster keeps its previous center."""
  centers = kmeans_plus_plus(vectors, num_codes, rng)

  def update(centers, _):
    onehot = jax.nn.one_hot(nearest(centers, vectors), num_codes, dtype=vectors.dtype)
    counts = onehot.sum(0)
    means = onehot.T @ vectors / jnp.maximum(counts, 1)[:, None]
    return jnp.where(counts[:, None] > 0, means, centers), None

  return jax.lax.scan(update, centers, None, length=iterations)[0]


def init_state(codebook):
  return {"codebook": codebook, "cluster_size": jnp.ones(codebook.shape[0]),
          "embed_sum": codebook}


def ema_update(state, vectors, ids, decay: float, eps: float = 1e-5):
  """EMA of code counts and sums (Laplace-smoothed) -> new codebook; vectors (N, D), ids (N,)."""
  num_codes = state["codebook"].shape[0]
  onehot = jax.nn.one_hot(ids, num_codes, dtype=vectors.dtype)
  cluster_size = decay * state["cluster_size"] + (1 - decay) * onehot.sum(0)
  embed_sum = decay * state["embed_sum"] + (1 - decay) * onehot.T @ vectors
  total = cluster_size.sum()
  smoothed = (cluster_size + eps) / (total + num_codes * eps) * total
  return {"codebook": embed_sum / smoothed[:, None], "cluster_size": cluster_size,
          "embed_sum": embed_sum}


def restart_dead_codes(state, vectors, rng, threshold: float):
  """Moves codes whose EMA count fell below `threshold` onto random vectors of this batch.

  Returns (state, number of codes restarted).
  """
  dead = state["cluster_size"] < threshold
  picks = vectors[jax.random.randint(rng, dead.shape, 0, vectors.shape[0])]
  codebook = jnp.where(dead[:, None], picks, state["codebook"])
  cluster_size = jnp.where(dead, 1.0, state["cluster_size"])
  new_state = {"codebook": codebook, "cluster_size": cluster_size,
               "embed_sum": codebook * cluster_size[:, None]}
  return new_state, dead.sum()


def usage_and_perplexity(counts):
  """From a histogram of code ids: fraction of codes used, and exp(entropy) of the code
  distribution."""
  probs = counts / jnp.maximum(counts.sum(), 1)
  entropy = -jnp.sum(jnp.where(probs > 0, probs * jnp.log(jnp.where(probs > 0, probs, 1)), 0))
  return jnp.mean(counts > 0), jnp.exp(entropy)
