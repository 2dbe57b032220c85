"""Decoding a causal token transformer (`nn.transformer.TokenTransformer`, decode mode) into text
sequences: greedy, nucleus sampling (Holtzman et al., 2020) and beam search, each one `lax`
loop over the model's KV cache. A sequence ends at [END]; every later position is [PAD].
"""

import dataclasses

import jax
import jax.numpy as jnp

from regen_jax.domains.text.vocabulary import END, PAD
from regen_jax.errors import UserError
from regen_jax.nn.transformer import decode_positions, empty_cache

STRATEGIES = ("greedy", "beam", "nucleus")


@dataclasses.dataclass(frozen=True)
class Strategy:
  name: str = "greedy"
  beam_size: int = 4
  length_penalty: float = 0.6  # GNMT's alpha: beams ranked by score / ((5 + length) / 6)^alpha
  top_p: float = 0.9
  temperature: float = 1.0

  def __post_init__(self):
    if self.name not in STRATEGIES:
      raise UserError(f"sampling.strategy must be one of {', '.join(STRATEGIES)}, "
                      f"got {self.name!r}")

  @classmethod
  def from_config(cls, sampling, name: str | None = None) -> "Strategy":
    return cls(name or sampling.strategy, sampling.beam_size, sampling.length_penalty,
               sampling.top_p, sampling.temperature)


def decode(decoder, params, condition: dict, length: int, strategy: Strategy, rng):
  """Token ids (B, length) from `decoder` (a TokenTransformer with decode=True and one token per
  position) given the condition arrays of B examples."""
  if strategy.name == "beam":
    return beam_search(decoder, params, condition, length, strategy)
  batch = len(next(iter(condition.values())))
  first = jnp.zeros((batch, 1, 1), jnp.int32)
  pick = _greedy if strategy.name == "greedy" else lambda logits, key: _nucleus(logits, key,
                                                                                strategy)
  ids = decode_positions(decoder, params, first, condition, length,
                         lambda out, key: pick(out[:, :, 0], key)[..., None], rng)[..., 0]
  return after_end_padded(ids)


def after_end_padded(ids):
  """[PAD] at every position after a sequence's first [END]."""
  ended_before = jnp.cumsum(ids == END, axis=-1) - (ids == END) > 0
  return jnp.where(ended_before, PAD, ids)


def _greedy(logits, key):
  del key
  return jnp.argmax(_without_pad(logits), -1)


def _without_pad(logits):
  """[PAD] is never chosen before [END] (after it, `after_end_padded` writes it)."""
  return logits.at[..., PAD].set(-jnp.inf)


def _nucleus(logits, key, strategy: Strategy):
  """A token from the smallest set of most likely tokens whose probability reaches top_p."""
  logits = _without_pad(logits) / strategy.temperature
  ordered = jnp.sort(logits, axis=-1)[..., ::-1]
  probs = jax.nn.softmax(ordered, axis=-1)
  before = jnp.cumsum(probs, axis=-1) - probs  # probability of the more likely tokens
  kept = jnp.where(before < strategy.top_p, ordered, jnp.inf).min(-1, keepdims=True)
  return jax.random.categorical(key, jnp.where(logits >= kept, logits, -jnp.inf))


def beam_search(decoder, params, condition: dict, length: int, strategy: Strategy):
  """The best of `beam_size` beams per example by length-penalised log-probability. A beam that
  has ended is extended by [PAD] at no cost; the KV cache is reordered with the beams."""
  batch, beams = len(next(iter(condition.values()))), strategy.beam_size
  condition = jax.tree.map(lambda x: jnp.repeat(x, beams, axis=0), condition)
  first = jnp.zeros((batch * beams, 1, 1), jnp.int32)
  cache = _consume_prefix(decoder, params, first, condition)
  vocab = decoder.vocab_size

  def step(carry, t):
    cache, previous, scores, ended, tokens = carry
    out, updated = decoder.apply({"params": params, "cache": cache}, previous, condition,
                                 mutable=["cache"])
    log_probs = jax.nn.log_softmax(_without_pad(out[:, -1, 0])).reshape(batch, beams, vocab)
    pad_only = jnp.full((vocab,), -jnp.inf).at[PAD].set(0.0)
    log_probs = jnp.where(ended[..., None], pad_only, log_probs)
    candidates = (scores[..., None] + log_probs).reshape(batch, beams * vocab)
    scores, chosen = jax.lax.top_k(candidates, beams)
    source, token = chosen // vocab, chosen % vocab
    rows = (jnp.arange(batch)[:, None] * beams + source).reshape(-1)
    cache = jax.tree.map(lambda x: x[rows] if x.ndim else x, updated["cache"])
    ended = jnp.take_along_axis(ended, source, 1) | (token == END)
    tokens = jnp.take_along_axis(tokens, source[..., None], 1).at[:, :, t].set(token)
    return (cache, token.reshape(-1, 1, 1), scores, ended, tokens), None

  # At the start every beam is the same: only the first may extend.
  scores = jnp.tile(jnp.where(jnp.arange(beams) == 0, 0.0, -jnp.inf), (batch, 1))
  carry = (cache, first, scores, jnp.zeros((batch, beams), bool),
           jnp.zeros((batch, beams, length), jnp.int32))
  _, _, scores, _, tokens = jax.lax.scan(step, carry, jnp.arange(length))[0]
  lengths = (tokens != PAD).sum(-1)
  ranked = scores / ((5.0 + lengths) / 6.0) ** strategy.length_penalty
  return jnp.take_along_axis(tokens, jnp.argmax(ranked, -1)[:, None, None], 1)[:, 0]


def _consume_prefix(decoder, params, first, condition):
  """The KV cache after every condition vector but the last (the last comes with the first
  token's call, as `decode_positions` feeds it)."""
  cache = empty_cache(decoder, jax.random.key(0), first, condition)
  consume = lambda _, c: decoder.apply({"params": params, "cache": c}, first, condition,
                                       mutable=["cache"])[1]["cache"]
  return jax.lax.fori_loop(0, decoder.condition.length - 1, consume, cache)
