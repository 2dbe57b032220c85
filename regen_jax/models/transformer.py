"""Class-conditional transformer over a grid of tokens: the AR and masked (MaskGIT) priors.

Each of the `num_positions` positions holds `tokens_per_position` tokens from a vocabulary of
`vocab_size` (one VQ code per position; or 16 quantized pixels of a patch for the direct
baseline). Their embeddings are summed; the head predicts all of them. Sequence = [class] +
positions. `decode=True` runs one position per call against a KV cache (AR sampling).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp


def attention_implementation(dtype) -> str | None:
  """cuDNN fused attention on GPU (needs 16-bit inputs); XLA's everywhere else."""
  on_gpu = jax.default_backend() == "gpu"
  return "cudnn" if on_gpu and jnp.dtype(dtype) in (jnp.bfloat16, jnp.float16) else None


class Attention(nn.Module):
  num_heads: int
  causal: bool
  max_length: int
  dtype: jnp.dtype
  decode: bool = False

  @nn.compact
  def __call__(self, x, lengths=None):
    """`lengths` (B,): positions at or past a row's length are padding and are not attended to."""
    width = x.shape[-1]
    head_dim = width // self.num_heads
    qkv = nn.DenseGeneral((3, self.num_heads, head_dim), dtype=self.dtype, name="qkv")(x)
    query, key, value = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    if self.decode:
      out = self._attend_cached(query, key, value)
    else:
      out = jax.nn.dot_product_attention(query, key, value, is_causal=self.causal,
                                         key_value_seq_lengths=lengths,
                                         implementation=attention_implementation(self.dtype))
    return nn.DenseGeneral(width, axis=(-2, -1), dtype=self.dtype, name="out")(out)

  def _attend_cached(self, query, key, value):
    """Appends this step's key/value to the cache and attends to every position so far."""
    batch, _, heads, head_dim = key.shape
    shape = (batch, self.max_length, heads, head_dim)
    cached_key = self.variable("cache", "key", jnp.zeros, shape, key.dtype)
    cached_value = self.variable("cache", "value", jnp.zeros, shape, value.dtype)
    index = self.variable("cache", "index", lambda: jnp.zeros((), jnp.int32))
    i = index.value
    cached_key.value = jax.lax.dynamic_update_slice(cached_key.value, key, (0, i, 0, 0))
    cached_value.value = jax.lax.dynamic_update_slice(cached_value.value, value, (0, i, 0, 0))
    index.value = i + 1
    visible = (jnp.arange(self.max_length) <= i)[None, None, None, :]
    return jax.nn.dot_product_attention(query, cached_key.value, cached_value.value, mask=visible)


class Block(nn.Module):
  num_heads: int
  causal: bool
  max_length: int
  mlp_ratio: int
  dtype: jnp.dtype
  decode: bool = False

  @nn.compact
  def __call__(self, x, lengths=None):
    x = x + Attention(self.num_heads, self.causal, self.max_length, self.dtype, self.decode)(
        nn.LayerNorm(dtype=self.dtype)(x), lengths)
    h = nn.Dense(x.shape[-1] * self.mlp_ratio, dtype=self.dtype)(nn.LayerNorm(dtype=self.dtype)(x))
    return x + nn.Dense(x.shape[-1], dtype=self.dtype)(nn.gelu(h))


class TokenTransformer(nn.Module):
  vocab_size: int
  tokens_per_position: int
  num_positions: int
  num_classes: int
  width: int
  depth: int
  num_heads: int
  causal: bool
  mlp_ratio: int = 4
  dtype: jnp.dtype = jnp.float32
  decode: bool = False

  @nn.compact
  def __call__(self, tokens, labels):
    """tokens: (B, L, tokens_per_position) ids in [0, vocab_size] (vocab_size = [MASK]).

    Returns logits (B, 1 + L, tokens_per_position, vocab_size) for the sequence [class] + tokens.
    With decode=True, L must be 1 and the call's position is read from the cache: the first call
    consumes the class, every later call one position.
    """
    max_length = self.num_positions + 1
    # One table for all sub-positions: sub-position j's token t has row j * (vocab + 1) + t.
    offsets = jnp.arange(self.tokens_per_position) * (self.vocab_size + 1)
    token_embed = nn.Embed(self.tokens_per_position * (self.vocab_size + 1), self.width,
                           name="token_embed")(tokens + offsets).sum(axis=-2)
    class_embed = nn.Embed(self.num_classes, self.width, name="class_embed")(labels)[:, None]
    position_embed = self.param("position_embed", nn.initializers.normal(0.02),
                                (max_length, self.width))
    if self.decode:
      index = self.variable("cache", "position", lambda: jnp.zeros((), jnp.int32))
      x = jnp.where(index.value == 0, class_embed, token_embed)
      x = x + jax.lax.dynamic_slice_in_dim(position_embed, index.value, 1)[None]
      index.value = index.value + 1
    else:
      x = jnp.concatenate([class_embed, token_embed], axis=1)
      x = x + position_embed[None, :x.shape[1]]
    x = x.astype(self.dtype)
    for _ in range(self.depth):
      x = Block(self.num_heads, self.causal, max_length, self.mlp_ratio, self.dtype, self.decode)(x)
    x = nn.LayerNorm(dtype=self.dtype)(x)
    logits = nn.Dense(self.tokens_per_position * self.vocab_size, dtype=jnp.float32, name="head")(x)
    return logits.reshape(*x.shape[:2], self.tokens_per_position, self.vocab_size)
