import numpy as np
import pytest

from regen_jax.abstractions import phonemes as P
from regen_jax.evaluate import text


@pytest.mark.parametrize("a, b, distance", [
    ("kitten", "sitting", 3), ("flaw", "lawn", 2), ("", "", 0), ("abc", "", 3), ("", "ab", 2),
    ("abc", "abc", 0), ("abcdef", "azced", 3), ("intention", "execution", 5),
    (["the", "cat"], ["the", "hat", "sat"], 2), ([1, 2, 3], np.array([3, 2, 1]), 2)])
def test_known_edit_distances(a, b, distance):
  assert text.edit_distance(a, b) == distance
  assert text.edit_distance(b, a) == distance


def _slow_edit_distance(a, b) -> int:
  row = list(range(len(b) + 1))
  for i, x in enumerate(a, 1):
    previous, row = row, [i]
    for j, y in enumerate(b, 1):
      row.append(min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (x != y)))
  return row[-1]


def test_edit_distance_matches_the_textbook_recurrence():
  rng = np.random.default_rng(0)
  for _ in range(100):
    a, b = (list(rng.integers(0, 3, size=rng.integers(0, 9))) for _ in range(2))
    assert text.edit_distance(a, b) == _slow_edit_distance(a, b)


def test_error_rate_is_corpus_level():
  # 1 edit over 4 reference words + 2 over 2: 3 / 6, not the mean of per-utterance rates (0.75).
  assert text.error_rate([["a", "b", "c", "d"], ["e", "f"]], [["a", "b", "c"], []]) == 0.5
  with pytest.raises(ValueError, match="2 references but 1"):
    text.error_rate([[1], [2]], [[1]])
  with pytest.raises(ValueError, match="empty"):
    text.error_rate([[]], [[1]])


def test_normalization_keeps_words_and_contractions():
  assert text.normalize_text("  Don't -- STOP!  'Quoted' well-known café\u2019s ") == \
      "don't stop quoted well known cafe's"


def test_word_error_rate_on_hand_examples():
  assert text.word_error_rate(["The cat sat."], ["the cat sat"]) == 0.0
  assert text.word_error_rate(["the cat sat on the mat"], ["the cat sit on mat"]) == 2 / 6
  assert text.word_error_rate(["a b"], ["a b c d"]) == 1.0  # insertions count
  assert text.word_error_rate(["hello world", "good day"], ["", "good day"]) == 0.5


def test_char_error_rate_counts_spaces():
  assert text.char_error_rate(["ab cd"], ["abcd"]) == 1 / 5
  assert text.char_error_rate(["Hi, there!"], ["hi there"]) == 0.0
  assert text.char_error_rate(["kitten"], ["sitting"]) == 3 / 6


def test_empty_hypothesis_is_a_hundred_percent_error():
  assert text.word_error_rate(["some words here"], [""]) == 1.0
  assert text.char_error_rate(["some words"], [""]) == 1.0
  assert text.phoneme_error_rate([[5, 6, 1, 7]], [[]]) == 1.0


def test_phoneme_error_rate_counts_all_but_padding():
  ids = P.symbol_to_id
  reference = np.array([ids["HH"], ids["AY1"], ids[" "], ids["DH"], ids["EH1"], ids["R"], ids["."],
                        0, 0])  # right-padded
  hypothesis = [ids["HH"], ids["AY1"], ids["DH"], ids["EH0"], ids["R"], ids["."], 0]
  # the dropped boundary and the stress change are errors; the padding is not scored
  assert text.phoneme_error_rate([reference], [hypothesis]) == 2 / 7
