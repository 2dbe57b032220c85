"""Transformer layers: attention (cuDNN's fused kernel on GPU), pre-norm blocks, a stack over
padded sequences, and the token priors' transformer."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


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


def sinusoids(length: int, width: int) -> np.ndarray:
  position = np.arange(length)[:, None]
  rate = np.exp(-np.log(10000.0) * np.arange(0, width, 2) / width)
  table = np.zeros((length, width), np.float32)
  table[:, 0::2], table[:, 1::2] = np.sin(position * rate), np.cos(position * rate)
  return table


class SequenceStack(nn.Module):
  """Transformer blocks over a padded sequence, with sinusoidal positions (any length)."""
  depth: int
  num_heads: int
  max_length: int
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, x, lengths):
    x = x + sinusoids(x.shape[1], x.shape[-1])[None]
    x = x.astype(self.dtype)
    for _ in range(self.depth):
      x = Block(self.num_heads, False, self.max_length, 4, self.dtype)(x, lengths)
    return nn.LayerNorm(dtype=self.dtype)(x)


class TokenTransformer(nn.Module):
  """A transformer over [condition prefix] + a grid of tokens: the model of the token priors.

  Each of the `num_positions` positions holds `tokens_per_position` tokens from a vocabulary of
  `vocab_size` (one VQ code per position; or the 16 quantized pixels of a patch). Their
  embeddings are summed; the head predicts all of them. `condition` (e.g.
  `priors.conditions.ClassLabel`) turns X into the prefix: `condition.length` vectors of
  `width`; it shares this module's scope, so its layers are this model's own parameters.
  `decode=True` runs one position per call against a KV cache (AR sampling): the first
  `condition.length` calls consume the prefix, every later call one position.
  `features_only=True` returns the final features (B, prefix + L, width) instead of logits, for
  a separate head (`SubTokenDecoder`).
  """
  vocab_size: int
  tokens_per_position: int
  num_positions: int
  condition: nn.Module
  width: int
  depth: int
  num_heads: int
  causal: bool
  mlp_ratio: int = 4
  dtype: jnp.dtype = jnp.float32
  decode: bool = False
  features_only: bool = False

  def setup(self):
    nn.share_scope(self, self.condition)

  @nn.compact
  def __call__(self, tokens, condition_inputs):
    """tokens: (B, L, tokens_per_position) ids in [0, vocab_size] (vocab_size = [MASK]);
    condition_inputs: X's arrays, as `condition` reads them.

    Returns logits (B, prefix + L, tokens_per_position, vocab_size) for the sequence
    prefix + tokens. With decode=True, L must be 1.
    """
    # One table for all sub-positions: sub-position j's token t has row j * (vocab + 1) + t.
    offsets = jnp.arange(self.tokens_per_position) * (self.vocab_size + 1)
    token_embed = nn.Embed(self.tokens_per_position * (self.vocab_size + 1), self.width,
                           name="token_embed")(tokens + offsets).sum(axis=-2)
    x = _prefixed_stack(self, self.condition(condition_inputs), token_embed, self.causal)
    if self.features_only:
      return x
    logits = nn.Dense(self.tokens_per_position * self.vocab_size, dtype=jnp.float32, name="head")(x)
    return logits.reshape(*x.shape[:2], self.tokens_per_position, self.vocab_size)


def _prefixed_stack(module, prefix_embed, embedded, causal: bool):
  """The trunk of the prefix transformers: [prefix] + `embedded` (decoding: the one vector at
  the cache's position, a prefix vector while the prefix is fed) + learned positions, through
  `module.depth` pre-norm blocks and a final norm; its parameters are `module`'s own."""
  prefix = prefix_embed.shape[1]
  max_length = module.num_positions + prefix
  position_embed = module.param("position_embed", nn.initializers.normal(0.02),
                                (max_length, module.width))
  if module.decode:
    index = module.variable("cache", "position", lambda: jnp.zeros((), jnp.int32))
    current = jax.lax.dynamic_slice_in_dim(prefix_embed, jnp.minimum(index.value, prefix - 1),
                                           1, axis=1)
    x = jnp.where(index.value < prefix, current, embedded)
    x = x + jax.lax.dynamic_slice_in_dim(position_embed, index.value, 1)[None]
    index.value = index.value + 1
  else:
    x = jnp.concatenate([prefix_embed, embedded], axis=1)
    x = x + position_embed[None, :x.shape[1]]
  x = x.astype(module.dtype)
  for _ in range(module.depth):
    x = Block(module.num_heads, causal, max_length, module.mlp_ratio, module.dtype,
              module.decode)(x)
  return nn.LayerNorm(dtype=module.dtype)(x)


class LatentTransformer(nn.Module):
  """A causal transformer over [condition prefix] + a grid's continuous latent vectors in
  raster order: the model of the mixture (GIVT) priors. Each vector is embedded linearly; the
  head puts out `head_size` values per position (a mixture's parameters). `condition` and
  `decode` as in `TokenTransformer`.
  """
  num_positions: int
  condition: nn.Module
  width: int
  depth: int
  num_heads: int
  head_size: int
  mlp_ratio: int = 4
  dtype: jnp.dtype = jnp.float32
  decode: bool = False

  def setup(self):
    nn.share_scope(self, self.condition)

  @nn.compact
  def __call__(self, latents, condition_inputs):
    """latents (B, L, C) -> (B, prefix + L, head_size); with decode=True, L must be 1."""
    embedded = nn.Dense(self.width, dtype=self.dtype, name="latent_embed")(latents)
    x = _prefixed_stack(self, self.condition(condition_inputs), embedded, causal=True)
    return nn.Dense(self.head_size, dtype=jnp.float32, name="head")(x)


def empty_cache(decoder, rng, *inputs):
  """The zeroed KV cache of a decode-mode module called on `inputs`."""
  shapes = jax.eval_shape(lambda: decoder.init(rng, *inputs))["cache"]
  return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)


def decode_positions(decoder, params, first, condition, steps: int, sample, rng):
  """Autoregressive sampling with a decode-mode prefix transformer (`TokenTransformer`,
  `LatentTransformer`): the condition prefix is fed (its last vector on `first`'s call), then
  each of `steps` calls turns the position's output (B, 1, ...) into the next input by
  `sample(output, rng)`. Returns the samples (B, steps, ...); one `lax.scan`."""
  cache_state = empty_cache(decoder, rng, first, condition)

  def consume(cache_state):
    return decoder.apply({"params": params, "cache": cache_state}, first, condition,
                         mutable=["cache"])[1]["cache"]

  if decoder.condition.length > 1:  # the prefix before its last vector
    cache_state = jax.lax.fori_loop(0, decoder.condition.length - 1,
                                    lambda _, c: consume(c), cache_state)

  def step(carry, _):
    cache_state, previous, rng = carry
    rng, sample_rng = jax.random.split(rng)
    out, updated = decoder.apply({"params": params, "cache": cache_state}, previous, condition,
                                 mutable=["cache"])
    value = sample(out[:, -1:], sample_rng)
    return (updated["cache"], value, rng), value[:, 0]

  _, values = jax.lax.scan(step, (cache_state, first, rng), None, length=steps)
  return jnp.swapaxes(values, 0, 1)


class SubTokenDecoder(nn.Module):
  """An autoregressive head over the `tokens_per_position` tokens of one position (a patch's
  pixels, in raster order) given the trunk's features there: the depth transformer of
  RQ-Transformer (Lee et al., 2022). With it a position's tokens are no longer independent given
  the rest of the grid.

  `context` (M, trunk width); `previous` (M, L): the token before each one predicted
  (`vocab_size` = [START], then the position's tokens 0..L-2 when teacher-forced). Returns logits
  (M, L, vocab_size). `decode=True` takes one token per call against a KV cache.
  """
  vocab_size: int
  tokens_per_position: int
  width: int
  depth: int
  num_heads: int
  dtype: jnp.dtype = jnp.float32
  decode: bool = False

  @nn.compact
  def __call__(self, context, previous):
    x = nn.Embed(self.vocab_size + 1, self.width, name="token_embed")(previous)
    x = x + nn.Dense(self.width, dtype=self.dtype, name="context")(context)[:, None]
    position_embed = self.param("position_embed", nn.initializers.normal(0.02),
                                (self.tokens_per_position, self.width))
    if self.decode:
      index = self.variable("cache", "position", lambda: jnp.zeros((), jnp.int32))
      x = x + jax.lax.dynamic_slice_in_dim(position_embed, index.value, 1)[None]
      index.value = index.value + 1
    else:
      x = x + position_embed[None, :x.shape[1]]
    x = x.astype(self.dtype)
    for _ in range(self.depth):
      x = Block(self.num_heads, True, self.tokens_per_position, 4, self.dtype, self.decode)(x)
    x = nn.LayerNorm(dtype=self.dtype)(x)
    return nn.Dense(self.vocab_size, dtype=jnp.float32, name="head")(x)
