"""Scores of generated definitions against the references: BLEU and chrF (sacrebleu), plan
coverage, perplexity under a word trigram model of the training definitions, distinct-n and the
length ratio. Words are `plan.words`, lowercased, for everything but BLEU and chrF (sacrebleu's
own tokenization, case kept)."""

import collections
import math

import sacrebleu

from regen_jax.domains.text import plan as plan_rule

_BOUNDARY = "<s>"
_END = "</s>"
_UNIFORM_SHARE = 0.01


def _words(text: str) -> list[str]:
  return [word.lower() for word in plan_rule.words(text)]


class TrigramModel:
  """Interpolated Kneser-Ney trigram model of words (Chen & Goodman, 1999; one discount, 0.75),
  with sentence boundaries. The lowest order mixes in `_UNIFORM_SHARE` of a uniform
  distribution over the training words plus one for all unseen words, so every text has a
  finite perplexity."""

  def __init__(self, texts: list[str], discount: float = 0.75):
    self.discount = discount
    self.trigrams, self.bigram_types = collections.Counter(), collections.Counter()
    for text in texts:
      words = [_BOUNDARY, _BOUNDARY, *_words(text), _END]
      self.trigrams.update(zip(words, words[1:], words[2:]))
    self.context_counts, self.context_types = collections.Counter(), collections.Counter()
    for (u, v, w), count in self.trigrams.items():
      self.context_counts[u, v] += count
      self.context_types[u, v] += 1
      self.bigram_types[v, w] += 1  # continuation counts: distinct words before (v, w)
    self.middle_counts, self.middle_types = collections.Counter(), collections.Counter()
    self.unigram_types = collections.Counter()
    for (v, w), count in self.bigram_types.items():
      self.middle_counts[v] += count
      self.middle_types[v] += 1
      self.unigram_types[w] += 1
    self.total_bigram_types = sum(self.unigram_types.values())
    self.vocabulary_size = len(self.unigram_types) + 1  # + one for every unseen word

  def _unigram(self, w):
    seen = self.unigram_types[w] / self.total_bigram_types
    return (1 - _UNIFORM_SHARE) * seen + _UNIFORM_SHARE / self.vocabulary_size

  def _bigram(self, v, w):
    count = self.middle_counts[v]
    if not count:
      return self._unigram(w)
    backoff = self.discount * self.middle_types[v] / count
    return max(self.bigram_types[v, w] - self.discount, 0) / count + backoff * self._unigram(w)

  def probability(self, u, v, w) -> float:
    """P(w | u v)."""
    count = self.context_counts[u, v]
    if not count:
      return self._bigram(v, w)
    backoff = self.discount * self.context_types[u, v] / count
    return max(self.trigrams[u, v, w] - self.discount, 0) / count + backoff * self._bigram(v, w)

  def perplexity(self, texts: list[str]) -> float:
    log_prob, count = 0.0, 0
    for text in texts:
      words = [_BOUNDARY, _BOUNDARY, *_words(text), _END]
      for u, v, w in zip(words, words[1:], words[2:]):
        log_prob += math.log(self.probability(u, v, w))
        count += 1
    return math.exp(-log_prob / max(count, 1))


def plan_coverage(outputs: list[str], plans: list[str]) -> float:
  """Share of the plans' words that appear in their outputs."""
  found = total = 0
  for output, plan in zip(outputs, plans):
    present = set(_words(output))
    words = _words(plan)
    found += sum(word in present for word in words)
    total += len(words)
  return found / max(total, 1)


def distinct(outputs: list[str], n: int) -> float:
  """Distinct n-grams over all n-grams of the outputs (Li et al., 2016)."""
  grams = [tuple(words[i:i + n]) for words in map(_words, outputs)
           for i in range(len(words) - n + 1)]
  return len(set(grams)) / max(len(grams), 1)


def scores(outputs: list[str], references: list[str], language_model: TrigramModel) -> dict:
  reference_plans = [plan_rule.plan(text) for text in references]
  return {
      "bleu": sacrebleu.corpus_bleu(outputs, [references]).score,
      "chrf": sacrebleu.corpus_chrf(outputs, [references]).score,
      "plan_coverage": plan_coverage(outputs, reference_plans),
      "lm_perplexity": language_model.perplexity(outputs),
      "reference_lm_perplexity": language_model.perplexity(references),
      "distinct_1": distinct(outputs, 1), "distinct_2": distinct(outputs, 2),
      "length_ratio": (sum(len(_words(t)) for t in outputs)
                       / max(sum(len(_words(t)) for t in references), 1)),
      "num_examples": len(outputs)}
