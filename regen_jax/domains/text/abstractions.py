"""Y′ of text: a definition's own subword ids (the rule of the direct baseline and of the
realizer's target), and its content plan (`plan.py`) with the trained realizer as the way back.

In JAX, Y is a definition's ids (B, max_gloss_tokens): `Vocabulary.text` turns them into text.
"""

import hashlib
import json

import jax
import numpy as np

from regen_jax.domains.text import plan as plan_rule
from regen_jax.domains.text import vocabulary as vocabulary_lib
from regen_jax.errors import UserError
from regen_jax.stages.abstraction import Abstraction
from regen_jax.stages.specs import TokenSpec, describe


def fingerprint(spec: TokenSpec, vocabulary, rule_version: int = 0) -> str:
  """`<name>-<hash>` of the spec, the vocabulary's bytes and the rule's version."""
  text = json.dumps([describe(spec), vocabulary.digest, rule_version], sort_keys=True)
  return f"{spec.name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def sequences(vocabulary, texts: list[str], length: int) -> np.ndarray:
  """(len(texts), length) ids; a `UserError` for a text that does not fit."""
  try:
    return np.stack([vocabulary.sequence(text, length) for text in texts])
  except vocabulary_lib.TooLong as e:
    raise UserError(f"a text is too long for this model: {e}") from None


class Definitions(Abstraction):
  """Definition text <-> its ids: Y′ = Y (the direct baseline's rule)."""

  def __init__(self, vocabulary, length: int):
    self.vocabulary, self.length = vocabulary, length
    self.spec = TokenSpec(vocabulary.size, (length,), 1, "definition")
    self.fingerprint = fingerprint(self.spec, vocabulary)

  @classmethod
  def from_config(cls, config):
    return cls(vocabulary_lib.of_dataset(config.dataset, config.data_dir or None),
               config.text.max_gloss_tokens)

  def encode(self, texts):
    return sequences(self.vocabulary, list(texts), self.length)

  def decode(self, ids):
    return [self.vocabulary.text(row) for row in np.asarray(ids).reshape(len(ids), -1)]

  def decoder(self):
    return self.realizer(None)[0], {}

  def realizer(self, strategy):
    """(fn(weights, ids (B, L, 1), rng) -> ids (B, L), weights): the identity."""
    del strategy
    return lambda weights, ids, rng=None: ids.reshape(len(ids), -1), {}


class Plans(Abstraction):
  """Definition text -> its content plan's ids (the rule); plan ids -> definition ids by a
  trained realizer (`realize(strategy) -> (fn(weights, plan, rng), weights)`), when given."""

  def __init__(self, vocabulary, plan_length: int, realize=None, default_strategy=None):
    self.vocabulary, self.length = vocabulary, plan_length
    self.spec = TokenSpec(vocabulary.size, (plan_length,), 1, "plan")
    self.fingerprint = fingerprint(self.spec, vocabulary, plan_rule.RULE_VERSION)
    self._realize, self._default_strategy = realize, default_strategy
    self.decodes = realize is not None

  def encode(self, texts):
    return sequences(self.vocabulary, [plan_rule.plan(text) for text in texts], self.length)

  def decode(self, plan_ids):
    fn, weights = self.decoder()
    return np.asarray(jax.jit(fn)(weights, np.asarray(plan_ids).reshape(len(plan_ids), -1, 1)))

  def realizer(self, strategy):
    if self._realize is None:
      raise UserError("plan -> definition needs the trained realizer: pass "
                      "--config.stage1.workdir=DIR (a trained configs/text/realizer.py)")
    return self._realize(strategy)

  def decoder(self):
    if self._realize is None:  # traced only when sampling: training needs no realizer
      def missing(weights, plan_ids):
        del weights, plan_ids
        self.realizer(None)
      return missing, {}
    fn, weights = self.realizer(self._default_strategy)
    return lambda w, plan_ids: fn(w, plan_ids, jax.random.key(0)), weights
