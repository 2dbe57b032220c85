"""Token priors: X -> Y′ for a stage 1 whose Y′ is tokens on a grid (`TokenSpec`).

One transformer over [condition prefix] + positions (`nn.transformer.TokenTransformer`), trained
and sampled as one of two families (`config.prior`):
  "ar"       causal; next-position cross-entropy; sampled position by position against a KV
             cache, one `lax.scan`;
  "maskgit"  bidirectional; cross-entropy on a cosine-distributed random share of masked
             positions; sampled by parallel decoding (MaskGIT): each of `sampling.maskgit_steps`
             steps keeps the most confident positions, the rest masked again on a cosine
             schedule, one `lax.fori_loop`.
With a learned stage 1 (e.g. a VQ tokenizer) this is the regen prior; with a rule (pixel
patches) the direct X -> Y baseline: same model, sampler and budget.
A position's `tokens_per_position` tokens (a patch's pixels) come from one linear head, each
independent of the others given the grid, or, with `config.model.sub_token_head`, from a small
autoregressive transformer inside the position (`nn.transformer.SubTokenDecoder`): trained
teacher-forced, sampled token by token against its own KV cache wherever the trunk samples a
position.

A domain subclasses `TokenPrior` with its condition encoder and examples
(`priors.conditional.ConditionalPrior`).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from regen_jax.errors import UserError
from regen_jax.nn.transformer import (SubTokenDecoder, TokenTransformer, decode_positions,
                                      empty_cache)
from regen_jax.priors.conditional import ConditionalPrior
from regen_jax.stages.specs import TokenSpec

FAMILIES = ("ar", "maskgit")
_EVAL_MASK_SEED = 0


class TokenPrior(ConditionalPrior):
  spec_kind = TokenSpec

  def __init__(self, config, workdir):
    if config.prior not in FAMILIES:
      raise UserError(f"prior must be one of {', '.join(FAMILIES)}, got {config.prior!r}")
    super().__init__(config, workdir)
    model = config.model
    self.model = TokenTransformer(
        vocab_size=self.spec.vocab_size, tokens_per_position=self.spec.tokens_per_position,
        num_positions=self.spec.num_positions, condition=self.condition, width=model.width,
        depth=model.depth, num_heads=model.num_heads, causal=config.prior == "ar",
        mlp_ratio=model.mlp_ratio, dtype=jnp.dtype(config.compute_dtype),
        features_only="sub_token_head" in model)
    # Absent from the configs of priors with one linear head (and of those trained before it).
    self.head = None
    if "sub_token_head" in model:
      head = model.sub_token_head
      self.head = SubTokenDecoder(
          vocab_size=self.spec.vocab_size, tokens_per_position=self.spec.tokens_per_position,
          width=head.width, depth=head.depth, num_heads=head.num_heads,
          dtype=jnp.dtype(config.compute_dtype))

  def batch_arrays(self, encoded):
    tokens = encoded.reshape(len(encoded), self.spec.num_positions, -1)
    return {"tokens": tokens.astype(np.int32)}

  def y_prime_example(self, batch_size):
    shape = (batch_size, self.spec.num_positions, self.spec.tokens_per_position)
    return {"tokens": np.zeros(shape, np.int32)}

  # ---- training
  def init(self, rng, batch):
    trunk = self.model.init(rng, batch["tokens"], self._condition(batch))["params"]
    if self.head is None:
      return trunk, {}
    features = self.model.apply({"params": trunk}, batch["tokens"], self._condition(batch))
    context, previous = self._teacher_forcing(features[:, -1:], batch["tokens"][:, -1:])
    head = self.head.init(jax.random.fold_in(rng, 1), context, previous)["params"]
    return {"trunk": trunk, "sub_token_head": head}, {}

  def _trunk_params(self, params):
    return params if self.head is None else params["trunk"]

  def _trunk(self, params, tokens, condition):
    """Logits (B, S, tokens_per_position, vocab) with one linear head; else features (B, S, W)."""
    return self.model.apply({"params": self._trunk_params(params)}, tokens, condition)

  def _teacher_forcing(self, features, tokens):
    """(context (B·N, W), previous tokens (B·N, T): [START], then each position's tokens but
    its last) for the sub-token head."""
    tokens = tokens.reshape(-1, self.spec.tokens_per_position)
    start = jnp.full((len(tokens), 1), self.spec.vocab_size, tokens.dtype)
    return (features.reshape(len(tokens), -1),
            jnp.concatenate([start, tokens[:, :-1]], axis=1))

  def _logits(self, params, trunk_out, tokens):
    """Logits (B, N, T, vocab) of `tokens` (B, N, T) from the trunk's output at N positions."""
    if self.head is None:
      return trunk_out
    context, previous = self._teacher_forcing(trunk_out, tokens)
    logits = self.head.apply({"params": params["sub_token_head"]}, context, previous)
    return logits.reshape(*tokens.shape, self.spec.vocab_size)

  def _sample_tokens(self, params, trunk_out, rng, temperature):
    """(tokens (B, N, T), their log-probabilities (B, N, T)) sampled from the trunk's output at
    N positions; with the sub-token head, token by token inside each position."""
    if self.head is None:
      sampled = jax.random.categorical(rng, trunk_out / temperature)
      return sampled, _log_prob(trunk_out, sampled)
    batch, positions, width = trunk_out.shape
    context = trunk_out.reshape(batch * positions, width)
    decoder = self.head.clone(decode=True)
    start = jnp.full((len(context), 1), self.spec.vocab_size, jnp.int32)

    def step(carry, step_rng):
      cache_state, previous = carry
      logits, updated = decoder.apply({"params": params["sub_token_head"], "cache": cache_state},
                                      context, previous, mutable=["cache"])
      token = jax.random.categorical(step_rng, logits[:, -1] / temperature)
      return (updated["cache"], token[:, None]), (token, _log_prob(logits[:, -1], token))

    _, (tokens, log_probs) = jax.lax.scan(
        step, (empty_cache(decoder, rng, context, start), start),
        jax.random.split(rng, self.spec.tokens_per_position))
    return (tokens.T.reshape(batch, positions, -1), log_probs.T.reshape(batch, positions, -1))

  def _token_nll(self, params, batch, rng):
    """(per-position NLL (B, N) summed over a position's tokens, weights (B, N) of scored
    positions)."""
    tokens, condition = batch["tokens"], self._condition(batch)
    prefix = self.model.condition.length
    if self.config.prior == "ar":
      out = self._trunk(params, tokens[:, :-1], condition)[:, prefix - 1:]
      weights = jnp.ones(tokens.shape[:2])
    else:
      masked = random_mask(rng, tokens.shape[0], self.spec.num_positions)
      inputs = jnp.where(masked[..., None], self.spec.vocab_size, tokens)
      out = self._trunk(params, inputs, condition)[:, prefix:]
      weights = masked.astype(jnp.float32)
    logits = self._logits(params, out, tokens)
    nll = optax.softmax_cross_entropy_with_integer_labels(logits, tokens).sum(-1)
    return nll, weights

  def loss(self, params, model_state, batch, rng, step):
    del step
    nll, weights = self._token_nll(params, batch, rng)
    loss = jnp.sum(nll * weights) / jnp.maximum(weights.sum(), 1) / self.spec.tokens_per_position
    return loss, ({}, model_state)

  def eval_metrics(self, params, model_state, batch):
    del model_state
    nll, weights = self._token_nll(params, batch, jax.random.key(_EVAL_MASK_SEED))
    weights = weights * batch["mask"][:, None]
    return {"nll": jnp.sum(nll * weights),
            "tokens": weights.sum() * self.spec.tokens_per_position}

  def summarize(self, sums):
    return {"nll_per_token": sums["nll"] / sums["tokens"]}

  # ---- sampling
  def sample_y_prime(self, params, condition, rng):
    """(B, positions, tokens_per_position) token ids for the condition arrays of B examples."""
    if self.config.prior == "ar":
      return self._sample_ar(params, condition, rng)
    return self._sample_maskgit(params, condition, rng)

  def _sample_ar(self, params, condition, rng):
    """One position per step against a KV cache."""
    batch = len(next(iter(condition.values())))
    first = jnp.zeros((batch, 1, self.spec.tokens_per_position), jnp.int32)
    sample = lambda out, sample_rng: self._sample_tokens(params, out, sample_rng,
                                                         self.config.sampling.temperature)[0]
    return decode_positions(self.model.clone(decode=True), self._trunk_params(params), first,
                            condition, self.spec.num_positions, sample, rng)

  def _sample_maskgit(self, params, condition, rng):
    """Parallel decoding: each step keeps the most confident positions (cosine schedule)."""
    cfg, n, mask_id = self.config.sampling, self.spec.num_positions, self.spec.vocab_size
    batch = len(next(iter(condition.values())))
    masked_counts, choice_temperatures = maskgit_schedule(n, cfg.maskgit_steps,
                                                          cfg.maskgit_choice_temperature)
    prefix = self.model.condition.length

    def step(t, carry):
      tokens, unknown, rng = carry
      rng, sample_rng, noise_rng = jax.random.split(rng, 3)
      out = self._trunk(params, tokens, condition)[:, prefix:]
      sampled, log_probs = self._sample_tokens(params, out, sample_rng, cfg.temperature)
      confidence = jnp.where(unknown, position_confidence(log_probs), jnp.inf)
      sampled = jnp.where(unknown[..., None], sampled, tokens)
      confidence = confidence + choice_temperatures[t] * jax.random.gumbel(noise_rng,
                                                                           confidence.shape)
      still_masked = jnp.minimum(masked_counts[t], unknown.sum(-1, keepdims=True) - 1).clip(0)
      unknown = _ranks(confidence) < still_masked
      return jnp.where(unknown[..., None], mask_id, sampled), unknown, rng

    tokens = jnp.full((batch, n, self.spec.tokens_per_position), mask_id, jnp.int32)
    unknown = jnp.ones((batch, n), bool)
    return jax.lax.fori_loop(0, cfg.maskgit_steps, step, (tokens, unknown, rng))[0]


def position_confidence(log_probs):
  """MaskGIT's confidence in a sampled position: its tokens' mean log-probability (B, N, T) ->
  (B, N). Not the sum: summed over a 4×4 pixel patch, a flat black patch (each pixel near
  certain once the first is drawn) outranks every patch with content, the sampler commits black
  everywhere first and the Gumbel temperature, tuned for one code per position, cannot undo it."""
  return log_probs.mean(-1)


def maskgit_schedule(positions: int, steps: int, choice_temperature: float):
  """(positions left masked after each step, the annealed Gumbel temperature of the confidence
  each step ranks by) as arrays: the cosine schedule of MaskGIT."""
  progress = (np.arange(steps) + 1) / steps
  counts = [math.floor(positions * math.cos(math.pi / 2 * p)) for p in progress]
  return (jnp.asarray(counts, jnp.int32),
          jnp.asarray([choice_temperature * (1 - p) for p in progress], jnp.float32))


def _log_prob(logits, tokens):
  """log softmax(logits) at `tokens`: logits (..., vocab), tokens (...) -> (...)."""
  return jnp.take_along_axis(jax.nn.log_softmax(logits), tokens[..., None], -1)[..., 0]


def _ranks(values):
  """Rank of each entry along the last axis (0 = smallest)."""
  return jnp.argsort(jnp.argsort(values, axis=-1), axis=-1)


def random_mask(rng, batch: int, length: int):
  """MaskGIT training mask: a cosine-distributed fraction of positions, at least one, per row."""
  ratio_rng, order_rng = jax.random.split(rng)
  ratio = jnp.cos(jnp.pi / 2 * jax.random.uniform(ratio_rng, (batch, 1)))
  count = jnp.clip(jnp.ceil(ratio * length), 1, length)
  return _ranks(jax.random.uniform(order_rng, (batch, length))) < count
