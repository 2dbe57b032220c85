"""What the music models see: windows of `WINDOW_BEATS` beats cut from chorales, and voices as
tokens.

A window is one row of a numpy structured array (`WINDOW`): the four voices' pitches and
onsets, the soprano's fermatas, each sixteenth's place in its bar, the key, and its stretch of
the chorale's template. Y is a batch of
windows (the rules read all of it); X is its soprano line, fermatas, bar places and key
(`melody`). A voice is written as one token per sixteenth (`voice_tokens`): a pitch where a
note starts, HOLD while it sounds on, REST in a rest.
"""

import numpy as np

from regen_jax.domains.music import corpus

WINDOW_BEATS = 16
WINDOW_STEPS = WINDOW_BEATS * corpus.STEPS_PER_BEAT
LOWEST, HIGHEST = 36, 84  # MIDI C2..C6: every voice of the corpus, transposed, fits
HOLD, REST = 0, 1
VOCAB = 2 + HIGHEST - LOWEST + 1
MAX_BAR_STEPS = 32  # a bar of up to 8 quarter beats
MODES = ("major", "minor")
KEYS = 12 * len(MODES)  # tonic + 12 × mode
WINDOW = np.dtype([
    ("pitches", np.int32, (len(corpus.VOICES), WINDOW_STEPS)),
    ("onsets", np.bool_, (len(corpus.VOICES), WINDOW_STEPS)),
    ("fermatas", np.bool_, (WINDOW_STEPS,)),
    ("bar_steps", np.int32, (WINDOW_STEPS,)),  # the sixteenth's index in its bar
    ("key", np.int32),  # tonic + 12 × MODES.index(mode)
    # The template rule's output on the whole chorale (`data.py`), per beat; zeros for a
    # melody alone.
    ("chords", np.int32, (WINDOW_BEATS,)),
    ("cadences", np.int32, (WINDOW_BEATS,)),
])


def voice_tokens(pitches: np.ndarray, onsets: np.ndarray) -> np.ndarray:
  """Tokens of voices (..., steps) from their MIDI pitches (corpus.REST in a rest) and onsets."""
  tokens = np.where(onsets, pitches - LOWEST + 2, HOLD)
  return np.where(pitches == corpus.REST, REST, tokens).astype(np.int32)


def voice_pitches(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(pitches, onsets) of voice tokens (..., steps): the inverse of `voice_tokens`. A HOLD with
  nothing sounding before it in the window is read as a rest."""
  tokens = np.asarray(tokens)
  onsets = tokens >= 2
  pitches = np.where(onsets, tokens - 2 + LOWEST, corpus.REST)
  for step in range(1, tokens.shape[-1]):  # a HOLD carries the sounding pitch on
    held = tokens[..., step] == HOLD
    pitches[..., step] = np.where(held, pitches[..., step - 1], pitches[..., step])
  return pitches.astype(np.int32), onsets


def bar_length(meter: str) -> int:
  """Sixteenths in a bar of `meter` ("3/4": 12)."""
  beats, unit = (int(part) for part in meter.split("/"))
  return beats * corpus.STEPS_PER_QUARTER * 4 // unit


def bar_steps(meter: str, first_downbeat: int, num_steps: int) -> np.ndarray:
  """Each sixteenth's index in its bar."""
  return (np.arange(num_steps) - first_downbeat) % bar_length(meter)


def window_starts(num_steps: int, first_downbeat: int, stride_beats: int | None) -> list[int]:
  """Where `cut`'s windows start: on beats, every `stride_beats` beats (None: a window's
  length), the last one ending at the last beat that a whole window can end on."""
  first_beat = first_downbeat % corpus.STEPS_PER_BEAT
  last = first_beat + (num_steps - first_beat - WINDOW_STEPS) // corpus.STEPS_PER_BEAT * (
      corpus.STEPS_PER_BEAT)
  if last < first_beat:
    return []
  stride = (stride_beats or WINDOW_BEATS) * corpus.STEPS_PER_BEAT
  starts = list(range(first_beat, last + 1, stride))
  return starts if starts[-1] == last else starts + [last]


def cut(chorale: dict, stride_beats: int | None) -> np.ndarray:
  """The windows of one chorale (a record of `data.load`, or a `corpus.Chorale` as a dict) at
  `window_starts`: with `stride_beats` None they tile it, the last one overlapping its
  neighbour so as to end with it (when it ends on a beat)."""
  pitches, num_steps = chorale["pitches"], chorale["pitches"].shape[1]
  starts = window_starts(num_steps, int(chorale["first_downbeat"]), stride_beats)
  places = bar_steps(chorale["meter"], int(chorale["first_downbeat"]), num_steps)
  no_template = np.zeros(num_steps // corpus.STEPS_PER_BEAT + 1, np.int32)
  windows = np.zeros(len(starts), WINDOW)
  for row, start in enumerate(starts):
    span = slice(start, start + WINDOW_STEPS)
    beats = slice(start // corpus.STEPS_PER_BEAT, start // corpus.STEPS_PER_BEAT + WINDOW_BEATS)
    onsets = chorale["onsets"][:, span].copy()
    onsets[:, 0] |= pitches[:, start] != corpus.REST  # a note held into the window starts it
    windows[row] = (pitches[:, span], onsets, chorale["fermatas"][span], places[span],
                    int(chorale["tonic"]) + 12 * MODES.index(chorale["mode"]),
                    chorale.get("chords", no_template)[beats],
                    chorale.get("cadences", no_template)[beats])
  return windows


def melody(windows: np.ndarray) -> dict[str, np.ndarray]:
  """X of windows: the soprano's tokens, fermatas, bar places (B, steps) and key (B, 1)."""
  return {"soprano": voice_tokens(windows["pitches"][:, 0], windows["onsets"][:, 0]),
          "fermatas": windows["fermatas"].astype(np.int32),
          "bar_steps": windows["bar_steps"], "key": windows["key"][:, None]}


def lower_voices(windows: np.ndarray) -> np.ndarray:
  """Y as the models write it: alto, tenor, bass tokens (B, steps, 3)."""
  tokens = voice_tokens(windows["pitches"][:, 1:], windows["onsets"][:, 1:])
  return np.moveaxis(tokens, 1, 2)


def with_lower_voices(windows: np.ndarray, tokens: np.ndarray) -> np.ndarray:
  """`windows` with alto, tenor and bass replaced by `tokens` (B, steps, 3)."""
  pitches, onsets = voice_pitches(np.moveaxis(np.asarray(tokens), 2, 1))
  replaced = windows.copy()
  replaced["pitches"][:, 1:], replaced["onsets"][:, 1:] = pitches, onsets
  return replaced
