"""Scores of harmonisations (batches of `windows.WINDOW`), none needing a trained network; each
is computed the same way on Bach's own windows for reference.

  note_accuracy_<voice>  share of the sixteenths where Bach's voice sounds that the generated
                         voice sounds the same pitch;
  chord_tone_ratio       share of the lower voices' notes whose pitch class belongs to the chord
                         the template rule finds on their beat ("other" beats: none does);
  parallels_per_100      parallel fifths and octaves (two voices moving the same way into the
                         same perfect interval) per 100 beats, over the six voice pairs;
  out_of_range           share of the lower voices' sounding sixteenths outside the voice's
                         range in the training chorales;
  crossings              share of sixteenths where a voice sounds above the voice above it;
  pitch_class_overlap,   histogram overlap (sum of the minima of the two normalised
  duration_overlap       histograms) of the lower voices' pitch classes and note lengths with
                         the reference windows' (TeleMelody's PD and DD);
  fermata_cadences       share of the fermatas on an authentic, plagal or half cadence.
"""

import numpy as np

from regen_jax.domains.music import abstractions, corpus, windows
from regen_jax.domains.music import chords as chords_lib

_PERFECT = (0, 7)
_CADENCES = [chords_lib.CADENCES.index(c) for c in ("authentic", "plagal", "half")]
_MAX_DURATION = 16  # sixteenths; longer notes share the last bin


def _share(flags) -> float:
  """The share of true entries; 0 of none."""
  flags = np.asarray(flags, bool)
  return float(flags.mean()) if flags.size else 0.0


def note_accuracy(generated: np.ndarray, reference: np.ndarray) -> dict[str, float]:
  scores = {}
  for voice in range(1, len(corpus.VOICES)):
    sounding = reference["pitches"][:, voice] != corpus.REST
    same = generated["pitches"][:, voice] == reference["pitches"][:, voice]
    scores[f"note_accuracy_{corpus.VOICES[voice]}"] = _share(same[sounding])
  return scores


def _notes(batch: np.ndarray):
  """(window, voice, start step, pitch, length in sixteenths) of every lower-voice note."""
  found = []
  for row, window in enumerate(batch):
    for voice in range(1, len(corpus.VOICES)):
      pitches, onsets = window["pitches"][voice], window["onsets"][voice]
      starts = np.flatnonzero(onsets & (pitches != corpus.REST))
      ends = np.append(starts[1:], len(pitches))
      for start, end in zip(starts, ends):
        held = pitches[start:end] == pitches[start]
        length = int(np.argmin(held)) if not held.all() else int(end - start)
        found.append((row, voice, start, pitches[start], length))
  return np.asarray(found, np.int64).reshape(-1, 5)


def chord_tone_ratio(batch: np.ndarray, notes: np.ndarray) -> float:
  template = abstractions.templates(batch)[..., 0]
  inside = [chords_lib.chord_tones(template[row, start // corpus.STEPS_PER_BEAT],
                                   int(batch["key"][row]) % 12)
            for row, _, start, _, _ in notes]
  return _share([tones is not None and pitch % 12 in tones
                 for tones, pitch in zip(inside, notes[:, 3])])


def parallels_per_100_beats(batch: np.ndarray) -> float:
  count = 0
  for window in batch:
    pitches = window["pitches"]
    moves = np.flatnonzero(window["onsets"].any(0))
    for a, b in zip(moves[:-1], moves[1:]):
      before, after = pitches[:, a], pitches[:, b]
      for upper in range(len(corpus.VOICES)):
        for lower in range(upper + 1, len(corpus.VOICES)):
          if corpus.REST in (before[upper], before[lower], after[upper], after[lower]):
            continue
          first, second = before[upper] - before[lower], after[upper] - after[lower]
          step_upper, step_lower = after[upper] - before[upper], after[lower] - before[lower]
          count += bool(first % 12 == second % 12 and first % 12 in _PERFECT
                        and step_upper * step_lower > 0)
  return 100 * count / (len(batch) * windows.WINDOW_BEATS)


def out_of_range(batch: np.ndarray, ranges) -> float:
  outside, total = 0, 0
  for voice in range(1, len(corpus.VOICES)):
    pitches = batch["pitches"][:, voice]
    sounding = pitches != corpus.REST
    outside += int(((pitches < ranges.low[voice]) | (pitches > ranges.high[voice]))[sounding].sum())
    total += int(sounding.sum())
  return outside / max(total, 1)


def crossings(batch: np.ndarray) -> float:
  pitches = batch["pitches"]
  both = (pitches[:, :-1] != corpus.REST) & (pitches[:, 1:] != corpus.REST)
  return _share((pitches[:, 1:] > pitches[:, :-1])[both])


def _overlap(values: np.ndarray, reference: np.ndarray, bins: int) -> float:
  p = np.bincount(values, minlength=bins)[:bins] / max(len(values), 1)
  q = np.bincount(reference, minlength=bins)[:bins] / max(len(reference), 1)
  return float(np.minimum(p, q).sum())


def fermata_cadences(batch: np.ndarray) -> float:
  marks = abstractions.templates(batch)[..., 1]
  starts = batch["fermatas"][:, ::corpus.STEPS_PER_BEAT]
  first = starts & ~np.pad(starts, [(0, 0), (1, 0)])[:, :-1]
  return _share(np.isin(marks[first], _CADENCES))


def scores(generated: np.ndarray, reference: np.ndarray, ranges) -> dict[str, float]:
  """Every score of `generated` windows against the `reference` windows they harmonise."""
  notes, reference_notes = _notes(generated), _notes(reference)
  lengths = np.minimum(notes[:, 4], _MAX_DURATION)
  reference_lengths = np.minimum(reference_notes[:, 4], _MAX_DURATION)
  return {
      **note_accuracy(generated, reference),
      "chord_tone_ratio": chord_tone_ratio(generated, notes),
      "parallels_per_100": parallels_per_100_beats(generated),
      "out_of_range": out_of_range(generated, ranges),
      "crossings": crossings(generated),
      "pitch_class_overlap": _overlap(notes[:, 3] % 12, reference_notes[:, 3] % 12, 12),
      "duration_overlap": _overlap(lengths, reference_lengths, _MAX_DURATION + 1),
      "fermata_cadences": fermata_cadences(generated),
  }
