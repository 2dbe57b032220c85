"""The template Y′ of a chorale, by rule: one chord per beat and a cadence mark at each fermata.

A beat's chord is music21's analysis (root and quality) of the pitches the four voices sound at
the beat's start; when that is no chord of the table (a suspension or a passing dissonance on the
beat), of the pitches sounding an eighth later; else "other". Chords are named relative to the
key's tonic, so a transposed chorale has the same template. The table (`CHORDS`, 50 symbols):
12 roots x {major, minor, diminished, dominant seventh}, "other" and "rest". A cadence mark
(`CADENCES`) goes on the first beat of each soprano fermata, from the chords there by rule:
  half       the fermata's chord is the key's dominant (V or V7);
  authentic  else, the previous beat's root a fifth above this major or minor chord's root (V-I,
             in whatever key the phrase ends);
  plagal     else, a fourth above (IV-I);
  other      any other chord under a fermata;
and "none" on every other beat.
"""

import functools

import numpy as np

from regen_jax.domains.music import corpus

RULE_VERSION = 1  # bump when a chord or cadence would change
QUALITIES = ("major", "minor", "diminished", "dominant7")
_TONES = {"major": (0, 4, 7), "minor": (0, 3, 7), "diminished": (0, 3, 6),
          "dominant7": (0, 4, 7, 10)}
ROOT_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
DEGREE_NAMES = ("1", "b2", "2", "b3", "3", "4", "#4", "5", "b6", "6", "b7", "7")
CHORDS = tuple(f"{degree}:{quality}" for degree in DEGREE_NAMES for quality in QUALITIES) + (
    "other", "rest")
OTHER, REST = len(CHORDS) - 2, len(CHORDS) - 1
CADENCES = ("none", "authentic", "plagal", "half", "other")
_FIFTH_ABOVE, _FOURTH_ABOVE, _DOMINANT = 7, 5, 7
_ANALYSIS_OCTAVE = 36  # MIDI C2: the octave a chord's bass is moved to for analysis


def chord_symbol(degree: int, quality: str) -> int:
  return degree * len(QUALITIES) + QUALITIES.index(quality)


def chord_tones(symbol: int, tonic: int) -> frozenset[int] | None:
  """The pitch classes of chord `symbol` in a key on `tonic`; None for "other" and "rest"."""
  if symbol >= OTHER:
    return None
  degree, quality = divmod(symbol, len(QUALITIES))
  return frozenset((tonic + degree + tone) % 12 for tone in _TONES[QUALITIES[quality]])


@functools.cache
def _analysed(pitches: tuple[int, ...]) -> tuple[int, str] | None:
  """(root pitch class, quality of the table) of MIDI `pitches`, or None."""
  chord = corpus._music21().chord.Chord(list(pitches))  # pylint: disable=protected-access
  if chord.isDominantSeventh():
    quality = "dominant7"
  elif (chord.isTriad() or chord.isSeventh() or len(chord.pitchClasses) == 2) and (
      chord.quality in QUALITIES):
    quality = chord.quality  # other sevenths by their triad; a third with the fifth left out
  else:
    return None
  return chord.root().pitchClass, quality


def _chord_at(pitches: np.ndarray, step: int, tonic: int) -> int | None:
  # Analysed as if in C, the bass in one octave: music21 spells MIDI pitches one way whatever
  # the key, and its analysis follows the spelling (and, for a symmetric diminished seventh,
  # the register); so moved, every transposition of a chord is analysed alike.
  sounding = sorted(int(p) - tonic for p in pitches[:, step] if p != corpus.REST)
  if not sounding:
    return REST
  octave = 12 * (sounding[0] // 12) - _ANALYSIS_OCTAVE
  found = _analysed(tuple(p - octave for p in sounding))
  return None if found is None else chord_symbol(found[0], found[1])


def beat_starts(chorale: corpus.Chorale) -> np.ndarray:
  """The sixteenth each beat starts on (beats aligned to the bar)."""
  return np.arange(chorale.first_downbeat % corpus.STEPS_PER_BEAT, chorale.num_steps,
                   corpus.STEPS_PER_BEAT)


def chords(chorale: corpus.Chorale) -> np.ndarray:
  """(beats,) int32 chord symbols, one per beat."""
  symbols = []
  for start in beat_starts(chorale):
    symbol = _chord_at(chorale.pitches, start, chorale.tonic)
    if symbol is None and start + 2 < chorale.num_steps:
      symbol = _chord_at(chorale.pitches, start + 2, chorale.tonic)
    symbols.append(OTHER if symbol is None else symbol)
  return np.asarray(symbols, np.int32)


def root(symbol: int) -> int | None:
  """The degree of the root above the tonic, None for "other" and "rest"."""
  return None if symbol >= OTHER else symbol // len(QUALITIES)


def cadence(previous: int, chord: int) -> str:
  """The cadence mark of a fermata on `chord` after `previous` (symbols)."""
  if chord >= OTHER:
    return "other"
  degree, quality = divmod(chord, len(QUALITIES))
  if degree == _DOMINANT and QUALITIES[quality] in ("major", "dominant7"):
    return "half"
  before = root(previous)
  if QUALITIES[quality] in ("major", "minor") and before is not None:
    if (before - degree) % 12 == _FIFTH_ABOVE:
      return "authentic"
    if (before - degree) % 12 == _FOURTH_ABOVE:
      return "plagal"
  return "other"


def cadences(chorale: corpus.Chorale, symbols: np.ndarray) -> np.ndarray:
  """(beats,) int32 cadence marks (`CADENCES` indices): on the first beat of each fermata."""
  marks = np.zeros(len(symbols), np.int32)
  fermata = chorale.fermatas[beat_starts(chorale)]
  for beat in np.flatnonzero(fermata & ~np.concatenate([[False], fermata[:-1]])):
    previous = symbols[beat - 1] if beat else REST
    marks[beat] = CADENCES.index(cadence(previous, symbols[beat]))
  return marks


def name(symbol: int, tonic: int | None = None) -> str:
  """A chord's name: relative to the tonic ("5:dominant7"), or with `tonic` absolute ("G7")."""
  if tonic is None or symbol >= OTHER:
    return CHORDS[symbol]
  degree, quality = divmod(symbol, len(QUALITIES))
  suffix = {"major": "", "minor": "m", "diminished": "dim", "dominant7": "7"}
  return ROOT_NAMES[(tonic + degree) % 12] + suffix[QUALITIES[quality]]
