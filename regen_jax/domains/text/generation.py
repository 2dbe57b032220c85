"""What the text stages share: the autoregressive token family over subword ids, with a
prefix of ids as X (`TokenPrefix`: a record, or a plan), [PAD] left out of the loss, the
examples every stage keeps (those whose record, plan and definition fit the limits, so all
stages train and are scored on the same ones), decoding (`decoding.py`) and the scores.
"""

import functools
import json
import os

import flax.linen as nn
import jax
import numpy as np

from regen_jax.domains.text import data
from regen_jax.domains.text import decoding
from regen_jax.domains.text import metrics as text_metrics
from regen_jax.domains.text import plan as plan_rule
from regen_jax.domains.text import vocabulary as vocabulary_lib
from regen_jax.domains.text.vocabulary import PAD
from regen_jax.errors import UserError
from regen_jax.priors.tokens import TokenPrior

_SHOWN = 10  # examples written beside each evaluation's scores


class TokenPrefix(nn.Module):
  """X = ids (`inputs[key]`, (B, length)) -> their embeddings, the prefix (B, length, width)."""
  vocab_size: int
  width: int
  length: int
  key: str

  @nn.compact
  def __call__(self, inputs):
    return nn.Embed(self.vocab_size, self.width, name=f"{self.key}_embed")(inputs[self.key])


@functools.cache
def _language_model(dataset: str, data_dir: str | None) -> text_metrics.TrigramModel:
  return text_metrics.TrigramModel([r["definition"] for r in data.load(dataset, "train",
                                                                       data_dir)])


class TextPrior(TokenPrior):
  """A text stage: `condition_key` names its X ("record" or "plan")."""
  runtime_keys = ("sampling", "num_decoded", "num_decoded_full", "eval_strategies")
  condition_key: str

  def __init__(self, config, workdir):
    if config.prior != "ar":
      raise UserError(f"text is decoded left to right: prior must be 'ar', got {config.prior!r}")
    self.vocabulary = vocabulary_lib.of_dataset(config.dataset, config.data_dir or None)
    self.limits = config.text
    self._records, self._generators = {}, {}
    super().__init__(config, workdir)

  @property
  def prefix_length(self) -> int:
    return {"record": self.limits.max_record_tokens,
            "plan": self.limits.max_plan_tokens}[self.condition_key]

  def condition_encoder(self):
    return TokenPrefix(self.vocabulary.size, self.config.model.width, self.prefix_length,
                       self.condition_key)

  def condition_example(self, batch_size):
    return {self.condition_key: np.zeros((batch_size, self.prefix_length), np.int32)}

  def _token_nll(self, params, batch, rng):
    nll, weights = super()._token_nll(params, batch, rng)
    return nll, weights * (batch["tokens"][..., 0] != PAD)

  # ---- data
  def records(self, split: str) -> list[dict[str, str]]:
    """The records of `split` whose record, plan and definition fit the limits."""
    if split not in self._records:
      found = data.load(self.config.dataset, split, self.config.data_dir or None)
      kept = [r for r in found if self._fits(r)]
      if len(kept) < len(found):
        print(f"{len(found) - len(kept)} of {len(found)} {split} examples exceed "
              f"{self.limits.to_dict()} and are left out", flush=True)
      self._records[split] = kept
    return self._records[split]

  def _fits(self, record) -> bool:
    texts = ((vocabulary_lib.record_text(record), self.limits.max_record_tokens),
             (plan_rule.plan(record["definition"]), self.limits.max_plan_tokens),
             (record["definition"], self.limits.max_gloss_tokens))
    return all(len(self.vocabulary.processor.encode(text)) < limit for text, limit in texts)

  # ---- decoding
  def strategy(self, name: str | None = None) -> decoding.Strategy:
    return decoding.Strategy.from_config(self.config.sampling, name)

  def decode_ids(self, params, condition, strategy, rng):
    """Ids (B, positions) of Y′ decoded by `strategy`."""
    return decoding.decode(self.model.clone(decode=True), self._trunk_params(params), condition,
                           self.spec.num_positions, strategy, rng)

  def sample_y_prime(self, params, condition, rng):
    return self.decode_ids(params, condition, self.strategy(), rng)[..., None]

  def generator(self, name: str):
    """jit(fn(params, weights, condition, rng) -> (Y′ ids, definition ids)), built once per
    strategy: Y′ by this stage, then stage 1's way back (the identity for the direct model)."""
    if name not in self._generators:
      strategy = self.strategy(name)
      realize, weights = self.stage1.realizer(strategy)

      def generate(params, weights, condition, rng):
        y_prime = self.decode_ids(params, condition, strategy, rng)
        return y_prime, realize(weights, y_prime[..., None], jax.random.fold_in(rng, 1))
      self._generators[name] = (jax.jit(generate), weights)
    return self._generators[name]

  def generate(self, params, condition: dict, name: str, seed: int):
    """(Y′ texts, definition texts) for the condition arrays, in padded chunks of
    `sampling.batch_size` (one compiled shape)."""
    fn, weights = self.generator(name)
    size, total = self.config.sampling.batch_size, len(next(iter(condition.values())))
    y_primes, definitions = [], []
    for start in range(0, total, size):
      chunk = {k: np.pad(v[start:start + size], [(0, size - len(v[start:start + size])), (0, 0)])
               for k, v in condition.items()}
      y_prime, ids = fn(params, weights, chunk, jax.random.key(seed + start))
      count = min(size, total - start)
      y_primes += [self.vocabulary.text(row) for row in np.asarray(y_prime)[:count]]
      definitions += [self.vocabulary.text(row) for row in np.asarray(ids)[:count]]
    return y_primes, definitions

  def scored(self, outputs, references, extra=None) -> dict:
    model = _language_model(self.config.dataset, self.config.data_dir or None)
    return {**text_metrics.scores(outputs, references, model), **(extra or {})}

  # ---- evaluation
  def on_eval(self, params, model_state, step, full=False):
    """Decodes the evaluation split's first `num_decoded` examples greedily (`num_decoded_full`,
    by every strategy of `eval_strategies`, in `evaluate`) and scores the definitions; writes the
    first examples beside them (samples/definitions_<split>_<step>.json)."""
    del model_state
    split, config = self.config.eval_split, self.config
    condition, references = self.examples(split)
    count = config.num_decoded_full if full else config.num_decoded
    condition = {k: v[:count] for k, v in condition.items()}
    references, shown, metrics = references[:count], [], {}
    for name in (config.eval_strategies if full else ("greedy",)):
      y_primes, outputs = self.generate(params, condition, name, config.seed + step)
      extra = {}
      if self.spec.name == "plan":  # the regen pipeline: did it write what it planned?
        extra["own_plan_coverage"] = text_metrics.plan_coverage(outputs, y_primes)
      metrics.update({f"{name}_{k}": v for k, v in self.scored(outputs, references,
                                                              extra).items()})
      shown.append({"strategy": name, "examples": [
          {"input": self.vocabulary.text(x), "reference": ref, "y_prime": yp, "output": out}
          for x, ref, yp, out in zip(condition[self.condition_key], references, y_primes,
                                     outputs)][:_SHOWN]})
    os.makedirs(self.output_path(""), exist_ok=True)
    with open(self.output_path(f"definitions_{split}_{step:07d}.json"), "w") as f:
      json.dump(shown, f, indent=1)
    first = shown[0]["examples"][0]
    print(f"reference: {first['reference']}\noutput:    {first['output']}", flush=True)
    return metrics

  def write_sample(self, path: str, lines: list[str]) -> list[str]:
    print("\n".join(lines), flush=True)
    with open(path, "w") as f:
      f.write("\n".join(lines) + "\n")
    return [path]
