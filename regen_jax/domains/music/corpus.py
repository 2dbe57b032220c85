"""Bach's four-part chorales from the score corpus inside the `music21` wheel, on a grid of
sixteenth notes.

Each chorale becomes a `Chorale`: per voice (soprano, alto, tenor, bass) and sixteenth, the
sounding MIDI pitch (0: rest) and whether a note starts there (a tied note's continuation does
not), the soprano's fermatas, the key (music21's key analysis), the meter and where its first
downbeat falls. The files are parsed where the wheel installed them, never copied: their
encodings carry a non-commercial licence note (docs/music.md).
"""

import dataclasses
import functools
import hashlib
import warnings

import numpy as np

VOICES = ("soprano", "alto", "tenor", "bass")
STEPS_PER_QUARTER = 4  # the grid: sixteenth notes
STEPS_PER_BEAT = STEPS_PER_QUARTER  # a beat is a quarter note, in every meter
REST = 0


class GridError(ValueError):
  """A score the sixteenth-note grid cannot hold (a triplet, an unusual meter, chords in a
  voice, not four voices)."""


@dataclasses.dataclass(frozen=True)
class Chorale:
  name: str  # "bwv269"
  pitches: np.ndarray  # (4, steps) int32 MIDI pitch per voice and sixteenth, REST in a rest
  onsets: np.ndarray  # (4, steps) bool, a note starts at this sixteenth
  fermatas: np.ndarray  # (steps,) bool, the soprano holds a fermata
  tonic: int  # pitch class 0..11 (C = 0)
  mode: str  # "major" or "minor"
  meter: str  # "4/4"
  first_downbeat: int  # sixteenths before the first full bar (the pickup's length)

  @property
  def num_steps(self) -> int:
    return self.pitches.shape[1]

  def transposed(self, semitones: int) -> "Chorale":
    sounding = self.pitches != REST
    pitches = np.where(sounding, self.pitches + semitones, REST).astype(np.int32)
    return dataclasses.replace(self, pitches=pitches, tonic=(self.tonic + semitones) % 12)


@functools.cache
def _music21():
  with warnings.catch_warnings():  # music21 warns about optional plotting packages
    warnings.simplefilter("ignore")
    import music21  # pylint: disable=import-outside-toplevel
  return music21


def chorale_names() -> list[str]:
  """Every chorale of the corpus ("bach/bwv269", ...) once, in music21's order: 350 works (its
  Riemenschneider numbering, 371, lists some twice)."""
  return list(dict.fromkeys(_music21().corpus.chorales.Iterator(returnType="filename")))


def _steps(quarter_length, what: str) -> int:
  steps = float(quarter_length) * STEPS_PER_QUARTER
  if abs(steps - round(steps)) > 1e-6:
    raise GridError(f"{what} at {float(quarter_length)} quarters is off the sixteenth grid")
  return round(steps)


def _voice(part, num_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(pitches, onsets, fermatas) of one part on the grid."""
  pitches = np.full(num_steps, REST, np.int32)
  onsets = np.zeros(num_steps, bool)
  fermatas = np.zeros(num_steps, bool)
  for note in part.flatten().notes:
    if note.duration.isGrace:
      continue  # an ornament: no time of its own
    if note.isChord:
      raise GridError(f"{part.partName} has a chord at {float(note.offset)} quarters")
    start = _steps(note.offset, "a note")
    end = start + _steps(note.quarterLength, "a note's length")
    pitches[start:end] = note.pitch.midi
    onsets[start] = note.tie is None or note.tie.type == "start"
    if any(type(e).__name__ == "Fermata" for e in note.expressions):
      fermatas[start:end] = True
  return pitches, onsets, fermatas


def from_score(score, name: str) -> Chorale:
  """The chorale of a parsed music21 score of four voices."""
  parts = list(score.parts)
  if len(parts) != len(VOICES):
    raise GridError(f"{name} has {len(parts)} parts, not the four voices")
  signatures = list(score.recurse().getElementsByClass("TimeSignature"))
  if not signatures:
    raise GridError(f"{name} has no meter")
  meter = signatures[0]
  if any(s.ratioString != meter.ratioString for s in signatures):
    raise GridError(f"{name} changes meter")
  bar = _steps(meter.barDuration.quarterLength, "the bar")
  if bar % STEPS_PER_BEAT:
    raise GridError(f"{name}'s meter {meter.ratioString} is not a whole number of quarter beats")
  num_steps = _steps(score.highestTime, "the end")
  voices = [_voice(part, num_steps) for part in parts]
  measures = parts[0].getElementsByClass("Measure")
  full_bars = [m for m in measures if m.number >= 1]
  first_downbeat = _steps(full_bars[0].offset, "the first bar") % bar if full_bars else 0
  key = score.analyze("key")
  return Chorale(
      name=name, pitches=np.stack([v[0] for v in voices]),
      onsets=np.stack([v[1] for v in voices]), fermatas=voices[0][2],
      tonic=key.tonic.pitchClass, mode=key.mode, meter=meter.ratioString,
      first_downbeat=first_downbeat)


def read_chorale(name: str) -> Chorale:
  """One chorale of the corpus by its corpus name ("bach/bwv269"); `GridError` if the grid cannot
  hold it, `LookupError` if the corpus has no such work."""
  music21 = _music21()
  try:
    score = music21.corpus.parse(name)
  except music21.exceptions21.CorpusException:
    raise LookupError(f"the music21 corpus has no work {name!r}") from None
  return from_score(score, name.split("/")[-1])


def read_chorales(names: list[str] | None = None) -> tuple[list[Chorale], dict[str, str]]:
  """(the chorales the grid holds, {name: why} for those left out), in `names`' order (default:
  the whole corpus)."""
  kept, left_out = [], {}
  for name in chorale_names() if names is None else names:
    try:
      kept.append(read_chorale(name))
    except GridError as e:
      left_out[name] = str(e)
  return kept, left_out


def melody_id(chorale: Chorale, intervals: int = 8) -> str:
  """The tune's identity: its soprano's first `intervals` melodic intervals (transposition
  free). Bach harmonised many tunes more than once; these share it."""
  soprano = chorale.pitches[0][chorale.onsets[0] & (chorale.pitches[0] != REST)]
  return hashlib.sha1(np.diff(soprano[:intervals + 1]).astype(np.int8).tobytes()).hexdigest()
