import math

import numpy as np
import pytest
from scipy.special import log_softmax

from regen_jax.priors import ctc_algorithms as ctc
from regen_jax.priors import word_lm

SENTENCES = [s.split() for s in ["the cat sat", "the cat ran", "a dog sat", "the dog ran",
                                 "a cat sat on the mat"]]
SYMBOLS = ["<blank>", " "] + [chr(c) for c in range(ord("a"), ord("z") + 1)]


def _ids(text: str) -> list[int]:
  return [SYMBOLS.index(c) for c in text]


def _scorer(model, **settings) -> word_lm.WordScorer:
  """Fusion over SYMBOLS, the vocabulary spelled letter by letter, words separated by " "."""
  spellings = word_lm.character_spellings(model.vocabulary, SYMBOLS)
  return word_lm.WordScorer(model, spellings, {SYMBOLS.index(" ")}, **settings)


@pytest.fixture(scope="module")
def model():
  return word_lm.KneserNey(SENTENCES, order=3, vocabulary=["zebra"])


@pytest.mark.parametrize("history", [(), ("the",), ("the", "cat"), ("unseen", "words")])
def test_kneser_ney_is_a_distribution_after_every_history(model, history):
  outcomes = model.vocabulary | {word_lm.END, word_lm.UNKNOWN}
  assert sum(math.exp(model.log_prob(history, w)) for w in outcomes) == pytest.approx(1, abs=1e-9)


def test_kneser_ney_prefers_what_followed_the_history(model):
  assert model.log_prob(["the"], "cat") > model.log_prob(["the"], "sat")
  assert model.log_prob(["the", "cat"], "sat") > model.log_prob(["the", "cat"], "mat")
  assert "zebra" in model.vocabulary and model.log_prob([], "zebra") > -math.inf
  assert model.log_prob([], "qwerty") == model.log_prob([], word_lm.UNKNOWN)
  with pytest.raises(ValueError, match="at least one sentence"):
    word_lm.KneserNey([], order=2)


def test_word_scorer_scores_words_and_penalises_each_unknown_word_once(model):
  scorer = _scorer(model, weight=0.5, word_bonus=2.0, unknown_penalty=-7.0)
  expected = 0.5 * model.sentence_log_prob(["the", "cat"]) + 2 * 2.0
  assert scorer.total(_ids("the cat")) == pytest.approx(expected)
  assert scorer.total(_ids(" the  cat ")) == pytest.approx(expected)  # empty words are no words
  misspelt = 0.5 * model.sentence_log_prob(["thx", "cat"]) + 2 * 2.0 - 7.0
  assert scorer.total(_ids("thx cat")) == pytest.approx(misspelt)  # one penalty for "thx"
  unfinished = 0.5 * model.sentence_log_prob(["th", "cat"]) + 2 * 2.0 - 7.0
  assert scorer.total(_ids("th cat")) == pytest.approx(unfinished)  # a prefix, but no word
  assert scorer.words(_ids("thx cat ")) == [word_lm.UNKNOWN, "cat"]
  closed = _scorer(model, weight=0.5, word_bonus=2.0, unknown_penalty=-math.inf)
  assert closed.total(_ids("the cat")) == pytest.approx(expected)
  assert closed.total(_ids("thx cat")) == closed.total(_ids("th cat")) == -math.inf


# A phoneme-like table: homophones share labels, and the history decides which word they are.
PHONES = ["<blank>", "|", "T", "UW", "K", "AE", "S", "G", "OW", "W", "AA", "N"]
PRONUNCIATIONS = {"to": "T UW", "two": "T UW", "too": "T UW", "cats": "K AE T S", "go": "G OW",
                  "want": "W AA N T", "cast": "K AE S T"}


def _phones(text: str) -> list[int]:
  return [PHONES.index(p) for p in text.split()]


@pytest.fixture(scope="module")
def lexicon_scorer():
  lm = word_lm.KneserNey([s.split() for s in ["want to go", "two cats", "we want two cats",
                                              "go too"]], order=3, vocabulary=["cast"])
  spellings = {word: _phones(labels) for word, labels in PRONUNCIATIONS.items()}
  return word_lm.WordScorer(lm, spellings, {PHONES.index("|")}, unknown_penalty=-math.inf)


def test_a_pronunciation_lexicon_turns_phonemes_into_the_words_the_history_prefers(
    lexicon_scorer):
  assert lexicon_scorer.words(_phones("T UW | K AE T S")) == ["two", "cats"]
  assert lexicon_scorer.words(_phones("W AA N T | T UW | G OW")) == ["want", "to", "go"]
  assert lexicon_scorer.words(_phones("G OW | T UW")) == ["go", "too"]
  assert lexicon_scorer.total(_phones("K AE T")) == -math.inf  # no word says it


def test_closed_vocabulary_beam_search_decodes_a_lexicon_word_the_frames_do_not_prefer(
    lexicon_scorer):
  rows = []
  for choice in ({"K": 1.0}, {"AE": 1.0}, {"T": 0.6, "S": 0.4}, {"T": 0.7, "S": 0.3}):
    row = np.full(len(PHONES), 1e-6)
    for phone, p in choice.items():
      row[PHONES.index(phone)] = p
    rows += [row, np.eye(len(PHONES))[0] + 1e-6]  # a blank after each
  log_probs = np.log(np.array(rows) / np.array(rows).sum(-1, keepdims=True))
  assert ctc.beam_search(log_probs, len(rows), 4) == _phones("K AE T T")  # no word
  found = ctc.beam_search(log_probs, len(rows), 4, lexicon_scorer)
  assert found == _phones("K AE T S") and lexicon_scorer.words(found) == ["cats"]


def _frames(*choices: dict[str, float]) -> np.ndarray:
  """One frame per dict of symbol probabilities (the rest on blank), a blank frame after each."""
  rows = []
  for choice in choices:
    row = np.full(len(SYMBOLS), 1e-6)
    for symbol, p in choice.items():
      row[SYMBOLS.index(symbol)] = p
    row[0] = max(1 - sum(choice.values()), 1e-6)
    rows += [row, np.eye(len(SYMBOLS))[0] + 1e-6]
  probs = np.array(rows)
  return np.log(probs / probs.sum(-1, keepdims=True))


def test_beam_search_with_the_language_model_corrects_a_spelling_the_frames_prefer(model):
  log_probs = _frames({"t": 1.0}, {"e": 0.55, "h": 0.45}, {"h": 0.55, "e": 0.45}, {" ": 1.0},
                      {"c": 1.0}, {"a": 1.0}, {"t": 1.0})
  scorer = _scorer(model, weight=1.0, word_bonus=0.0, unknown_penalty=-5.0)
  assert ctc.batch_decode(log_probs[None], [len(log_probs)], beam_size=8) == [_ids("teh cat")]
  assert ctc.batch_decode(log_probs[None], [len(log_probs)], 8, scorer) == [_ids("the cat")]
  with pytest.raises(ValueError, match="needs beam search"):
    ctc.batch_decode(log_probs[None], [len(log_probs)], None, scorer)


@pytest.mark.parametrize("seed", range(3))
def test_fused_beam_search_scores_at_least_as_well_as_greedy(model, seed):
  rng = np.random.default_rng(seed)
  log_probs = log_softmax(3 * rng.normal(size=(14, len(SYMBOLS))), axis=-1)
  scorer = _scorer(model, weight=1.0, word_bonus=1.0)
  fused = lambda labels: ctc.sequence_log_prob(log_probs, 14, labels) + scorer.total(labels)
  for beam_size in (1, 4):
    found = ctc.beam_search(log_probs, 14, beam_size, scorer)
    assert fused(found) >= fused(ctc.greedy_decode(log_probs, 14)) - 1e-9
