"""The word language model of speech recognition's decoding help, the same for the regen
pipeline (fused into phoneme-to-grapheme's spelling) and the direct baseline (fused into its
character CTC): Kneser-Ney over the spoken form of the text corpus's training sentences
(`text_corpus.py`: no validation or test sentence of the speech corpus is among them), its
vocabulary also holding the words of the dictionary lines.
"""

import functools

import ml_collections

from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.data import pipeline
from regen_jax.domains.speech import text_corpus  # noqa: F401  (registers the TFDS builder)
from regen_jax.priors import word_lm

_SENTENCE = 0  # text_corpus's `kind` label of sentence lines


@functools.lru_cache(maxsize=2)
def _language_model(dataset: str, order: int, data_dir: str | None) -> word_lm.KneserNey:
  sentences, vocabulary = [], set()
  for record in pipeline.read_split(dataset, "train", data_dir):
    words = phoneme_lib.spoken_text(record["text"].decode()).split()
    vocabulary.update(words)
    if record["kind"] == _SENTENCE:
      sentences.append(words)
  return word_lm.KneserNey(sentences, order, vocabulary)


def word_scorer(config: ml_collections.ConfigDict,
                data_dir: str | None) -> word_lm.WordScorer:
  """The scorer `config` (a stage config's `language_model` block) describes, over the spoken
  characters; its model is estimated once per process."""
  model = _language_model(config.dataset, config.order, data_dir)
  return word_lm.WordScorer(model, phoneme_lib.CHARACTERS, phoneme_lib.BOUNDARY, config.weight,
                            config.word_bonus, config.unknown_penalty)
