"""A word n-gram language model, and its shallow fusion into CTC prefix beam search.

`KneserNey`: interpolated Kneser-Ney (Chen & Goodman 1998, one discount per order) over words,
estimated from sentences; words met only in a vocabulary list (no context) get their share of
the uniform floor of the lowest order, and any other word is `UNKNOWN`. Natural-log
probabilities.

`WordScorer`: the decoding help of lexicon + LM CTC decoders (Hannun et al. 2014; pyctcdecode,
which pins numpy < 2 and so does not fit here): a label sequence (letters, or phonemes through
a pronunciation lexicon) is scored word by word as `weight * log P(word | history) +
word_bonus`, a partial word that stops being a prefix of any lexicon word pays
`unknown_penalty` at once (so the beam drops misspellings early; -inf allows lexicon words
only), and the end of the sequence scores the last word and the end of sentence.
"""

import collections
import dataclasses
import math
from typing import Collection, Iterable, Mapping, Sequence

START, END, UNKNOWN = "<s>", "</s>", "<unk>"


class KneserNey:
  """Interpolated Kneser-Ney n-gram model of word sequences."""

  def __init__(self, sentences: Iterable[Sequence[str]], order: int = 3,
               vocabulary: Iterable[str] = (), discount: float = 0.75):
    if order < 1 or not 0 < discount < 1:
      raise ValueError(f"order must be >= 1 and discount in (0, 1); got {order}, {discount}")
    self.order, self.discount = order, discount
    top = collections.Counter()
    for sentence in sentences:
      words = [START] * (order - 1) + list(sentence) + [END]
      top.update(tuple(words[i:i + order]) for i in range(len(words) - order + 1))
    if not top:
      raise ValueError("a language model needs at least one sentence")
    # counts[n]: n-gram -> count; raw for the highest order, continuation counts (distinct
    # words seen before it) below, which is what makes Kneser-Ney's lower orders back-offs.
    counts = {order: top}
    for n in range(order - 1, 0, -1):
      counts[n] = collections.Counter(gram[1:] for gram in counts[n + 1])
    self._grams = {n: collections.defaultdict(dict) for n in counts}
    for n, grams in counts.items():
      for gram, count in grams.items():
        self._grams[n][gram[:-1]][gram[-1]] = count
    self._totals = {n: {h: (sum(f.values()), len(f)) for h, f in g.items()}
                    for n, g in self._grams.items()}
    self.vocabulary = (frozenset(w for (w,) in counts[1]) | frozenset(vocabulary)) - {START, END}
    self._floor = 1.0 / (len(self.vocabulary | {END, UNKNOWN}))
    self._cache: dict[tuple, float] = {}

  def _prob(self, history: tuple[str, ...], word: str) -> float:
    n = len(history) + 1
    lower = self._floor if n == 1 else self._prob(history[1:], word)
    total, distinct = self._totals[n].get(history, (0, 0))
    if not total:  # unseen history: all mass goes to the shorter one
      return lower
    count = self._grams[n][history].get(word, 0)
    return (max(count - self.discount, 0.0) + self.discount * distinct * lower) / total

  def log_prob(self, history: Sequence[str], word: str) -> float:
    """log P(word | the last order-1 words of `history`); words out of the vocabulary are
    `UNKNOWN`, and a history shorter than order-1 words starts a sentence."""
    history = ([START] * (self.order - 1) + list(history))[len(history):] if self.order > 1 else []
    key = (tuple(history), word if word in self.vocabulary or word == END else UNKNOWN)
    if key not in self._cache:
      self._cache[key] = math.log(self._prob(*key))
    return self._cache[key]

  def sentence_log_prob(self, words: Sequence[str]) -> float:
    """log P(words, then the end of sentence)."""
    return sum(self.log_prob(words[:i], w) for i, w in enumerate(list(words) + [END]))


@dataclasses.dataclass(frozen=True)
class WordState:
  history: tuple[str, ...] = ()  # the last order-1 words
  partial: tuple[int, ...] = ()  # labels of the word being spelled


def character_spellings(words: Iterable[str], symbols: Sequence[str]) -> dict[str, tuple[int, ...]]:
  """Each word's labels in a character table: the lexicon of a decoder that writes letters."""
  index = {symbol: i for i, symbol in enumerate(symbols)}
  return {word: tuple(index[c] for c in word) for word in words}


class WordScorer:
  """Shallow fusion of `lm` into CTC prefix beam search over any label table (see module).

  `spellings` is the lexicon, word -> its labels (letters, or phonemes; homophones share them,
  and the one the model finds likelier after the history is the word); a label of
  `separators` ends a word. A word out of the lexicon pays `unknown_penalty` once, as soon as
  its labels leave every spelling's prefix or at its end, and is scored as `UNKNOWN`;
  `unknown_penalty=-inf` closes the vocabulary, so only lexicon words can be decoded.
  """

  def __init__(self, lm: KneserNey, spellings: Mapping[str, Sequence[int]],
               separators: Collection[int], weight: float = 1.0, word_bonus: float = 0.0,
               unknown_penalty: float = -5.0):
    self.lm, self.separators = lm, frozenset(separators)
    self.weight, self.word_bonus, self.unknown_penalty = weight, word_bonus, unknown_penalty
    self._words: dict[tuple[int, ...], list[str]] = collections.defaultdict(list)
    for word, labels in sorted(spellings.items()):
      self._words[tuple(labels)].append(word)
    self._words = dict(self._words)
    self._prefixes = {labels[:i] for labels in self._words for i in range(len(labels) + 1)}

  def start(self) -> WordState:
    return WordState()

  def _end_word(self, state: WordState) -> tuple[WordState, float, str | None]:
    """The state after the partial word ends, that word's score, and the word (None for none)."""
    if not state.partial:
      return state, 0.0, None
    word = max(self._words.get(state.partial, [UNKNOWN]),
               key=lambda w: self.lm.log_prob(state.history, w))
    score = self.weight * self.lm.log_prob(state.history, word) + self.word_bonus
    if state.partial not in self._words and state.partial in self._prefixes:
      score += self.unknown_penalty  # not paid yet: its labels never left the prefixes
    history = (state.history + (word,))[-(self.lm.order - 1):] if self.lm.order > 1 else ()
    return WordState(history), score, word

  def extend(self, state: WordState, label: int) -> tuple[WordState, float]:
    """The state after appending `label`, and the score it adds."""
    if label in self.separators:
      return self._end_word(state)[:2]
    partial = state.partial + (label,)
    left_lexicon = state.partial in self._prefixes and partial not in self._prefixes
    return WordState(state.history, partial), self.unknown_penalty if left_lexicon else 0.0

  def _end_sentence(self, state: WordState) -> tuple[float, str | None]:
    """The score of ending the sequence in `state` (its last word, then the end of sentence),
    and that last word."""
    state, score, word = self._end_word(state)
    return score + self.weight * self.lm.log_prob(state.history, END), word

  def finish(self, state: WordState) -> float:
    """The score of ending the sequence in `state`: its last word, then the end of sentence."""
    return self._end_sentence(state)[0]

  def _replay(self, labels: Sequence[int]) -> tuple[list[str], float]:
    """The words of a label sequence and its whole score."""
    state, score, words = self.start(), 0.0, []
    for label in labels:
      if int(label) in self.separators:
        state, added, word = self._end_word(state)
        words += [word] if word else []
      else:
        state, added = self.extend(state, int(label))
      score += added
    added, word = self._end_sentence(state)
    return words + ([word] if word else []), score + added

  def total(self, labels: Sequence[int]) -> float:
    """The whole score of a label sequence."""
    return self._replay(labels)[1]

  def words(self, labels: Sequence[int]) -> list[str]:
    """The words a label sequence spells, homophones resolved as they were scored (words out
    of the lexicon are `UNKNOWN`)."""
    return self._replay(labels)[0]
