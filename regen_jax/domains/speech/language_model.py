"""The word language model of speech recognition's decoding help, the same for the regen
pipeline (fused into phoneme-to-grapheme's spelling) and the direct baseline (fused into its
character CTC): Kneser-Ney over the spoken form of the text corpus's training sentences
(`text_corpus.py`: no validation or test sentence of the speech corpus is among them), its
vocabulary also holding the words of the dictionary lines. Over phonemes (the pipeline's
lexicon decoding, which needs no phoneme-to-grapheme model) the lexicon is the phoneme rule's
own pronunciation of each vocabulary word.
"""

import functools
import math

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


@functools.lru_cache(maxsize=2)
def _pronunciations(dataset: str, order: int, data_dir: str | None) -> dict[str, tuple[int, ...]]:
  """The rule's phonemes of each vocabulary word it reads as one phoneme word: a compound read
  part by part (co-ops: K OW1 | AA1 P S) has a boundary inside, so only its parts are words."""
  spellings = {}
  for word in _language_model(dataset, order, data_dir).vocabulary:
    labels = tuple(int(i) for i in phoneme_lib.encode(word))
    if labels and phoneme_lib.symbol_to_id[phoneme_lib.BOUNDARY] not in labels:
      spellings[word] = labels
  return spellings


@functools.lru_cache(maxsize=8)
def _scorer(dataset: str, order: int, data_dir: str | None, symbols: str, closed: bool,
            weight: float, word_bonus: float, unknown_penalty: float) -> word_lm.WordScorer:
  model = _language_model(dataset, order, data_dir)
  if symbols == "phonemes":
    spellings = _pronunciations(dataset, order, data_dir)
    separators = [phoneme_lib.symbol_to_id[s] for s in (phoneme_lib.BOUNDARY,) + phoneme_lib.PAUSES]
  else:
    spellings = word_lm.character_spellings(model.vocabulary, phoneme_lib.CHARACTERS)
    separators = [phoneme_lib.CHARACTERS.index(phoneme_lib.BOUNDARY)]
  penalty = -math.inf if closed else unknown_penalty
  return word_lm.WordScorer(model, spellings, separators, weight, word_bonus, penalty)


def word_scorer(config: ml_collections.ConfigDict, data_dir: str | None,
                symbols: str = "characters", closed: bool = False) -> word_lm.WordScorer:
  """The scorer `config` (a stage config's `language_model` block) describes, over the spoken
  characters or, through the rule's pronunciations, over phonemes (which can only spell lexicon
  words: always `closed`); `closed`, only vocabulary words can be decoded. Built once per
  process and setting. A closed vocabulary has its own weight and bonus (`closed_*`)."""
  if symbols not in ("characters", "phonemes"):
    raise ValueError(f"symbols must be 'characters' or 'phonemes', got {symbols!r}")
  closed = closed or symbols == "phonemes"
  weight, bonus = ((config.closed_weight, config.closed_word_bonus) if closed
                   else (config.weight, config.word_bonus))
  return _scorer(config.dataset, config.order, data_dir, symbols, closed, weight, bonus,
                 config.unknown_penalty)
