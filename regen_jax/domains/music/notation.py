"""Scores in and out: a melody file read onto the grid (MusicXML, MIDI or ABC, through music21),
and a four-part harmonisation written as MusicXML, MIDI, a piano-roll PNG and, rendered by
fluidsynth with Debian's General-MIDI soundfont (`fluid-soundfont-gm`), a WAV.

Every refusal of a melody is a `UserError` of one line, raised before anything is written.
"""

import os
import shutil
import subprocess
import tempfile

import numpy as np
from PIL import Image

from regen_jax.domains.music import corpus, windows
from regen_jax.errors import UserError

MAX_STEPS = 1024  # 64 bars of 4/4: the longest melody `sample` harmonises
SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
_VOICE_COLOURS = ((200, 30, 30), (30, 120, 30), (30, 60, 200), (120, 60, 0))
_SAMPLE_RATE = 22050


def read_melody(path: str, soprano_range: tuple[int, int]) -> corpus.Chorale:
  """The melody in `path` as a chorale whose lower voices rest (pitches REST)."""
  music21 = corpus._music21()  # pylint: disable=protected-access
  if not os.path.isfile(path):
    raise UserError(f"--melody {path}: no such file")
  try:
    score = music21.converter.parse(path)
  except Exception as e:  # music21 raises many types for unreadable files
    raise UserError(f"--melody {path} does not parse as MusicXML, MIDI or ABC: "
                    f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
  parts = list(getattr(score, "parts", [])) or [score]
  if len(parts) != 1:
    raise UserError(f"--melody {path} has {len(parts)} parts: give the melody alone, one part")
  if not list(parts[0].flatten().notes):
    raise UserError(f"--melody {path} has no notes")
  if any(n.isChord for n in parts[0].flatten().notes):
    raise UserError(f"--melody {path} has chords: give one line of single notes")
  lower = [music21.stream.Part([music21.note.Rest(quarterLength=score.highestTime)])
           for _ in corpus.VOICES[1:]]
  try:
    chorale = corpus.from_score(music21.stream.Score([parts[0], *lower]), "melody")
  except corpus.GridError as e:
    raise UserError(f"--melody {path}: the sixteenth-note grid cannot hold it ({e})") from None
  if windows.bar_length(chorale.meter) > windows.MAX_BAR_STEPS:
    raise UserError(f"--melody {path}: its {chorale.meter} bars are longer than the "
                    f"{windows.MAX_BAR_STEPS} sixteenths this model places notes in")
  sounding = chorale.pitches[0][chorale.pitches[0] != corpus.REST]
  low, high = soprano_range
  if sounding.min() < low or sounding.max() > high:
    raise UserError(f"--melody {path} spans MIDI {sounding.min()}..{sounding.max()}, outside "
                    f"the soprano's {low}..{high} this model knows: transpose it")
  if chorale.num_steps > MAX_STEPS:
    raise UserError(f"--melody {path} is {chorale.num_steps} sixteenths long, over this "
                    f"model's limit of {MAX_STEPS}: harmonise it in parts")
  return chorale


def _part(music21, pitches, onsets, fermatas, meter: str, key, name: str):
  part = music21.stream.Part()
  part.partName = name
  part.append(music21.meter.TimeSignature(meter))
  part.append(key)
  starts = list(np.flatnonzero(onsets | (pitches == corpus.REST) & np.r_[True, pitches[:-1]
                                                                          != corpus.REST]))
  for start, end in zip(starts, starts[1:] + [len(pitches)]):
    length = (end - start) / corpus.STEPS_PER_QUARTER
    if pitches[start] == corpus.REST:
      element = music21.note.Rest(quarterLength=length)
    else:
      element = music21.note.Note(int(pitches[start]), quarterLength=length)
      if fermatas is not None and fermatas[start]:
        element.expressions.append(music21.expressions.Fermata())
    part.append(element)
  return part


def to_score(chorale: corpus.Chorale):
  """A music21 score of the chorale's four voices."""
  music21 = corpus._music21()  # pylint: disable=protected-access
  tonic = music21.pitch.Pitch(chorale.tonic).name
  key = music21.key.Key(tonic, chorale.mode or "major")
  score = music21.stream.Score([
      _part(music21, chorale.pitches[v], chorale.onsets[v], chorale.fermatas if v == 0 else None,
            chorale.meter, key, corpus.VOICES[v].title()) for v in range(len(corpus.VOICES))])
  if chorale.first_downbeat:  # a pickup: the first bar is shorter
    for part in score.parts:
      part.makeMeasures(inPlace=True)
      part.getElementsByClass("Measure")[0].padAsAnacrusis()
  return score


def piano_roll(chorale: corpus.Chorale, path: str, scale: int = 4):
  """A PNG: time left to right (a column per sixteenth), pitch upwards, a colour per voice, a
  dark tick at each note's start, grey lines at the bars."""
  height = windows.HIGHEST - windows.LOWEST + 1
  image = np.full((height, chorale.num_steps, 3), 255, np.uint8)
  bars = windows.bar_steps(chorale.meter, chorale.first_downbeat, chorale.num_steps) == 0
  image[:, bars] = 220
  for voice, colour in enumerate(_VOICE_COLOURS):
    for step, (pitch, onset) in enumerate(zip(chorale.pitches[voice], chorale.onsets[voice])):
      if pitch != corpus.REST:
        shade = np.asarray(colour) // (2 if onset else 1)
        image[windows.HIGHEST - pitch, step] = shade
  Image.fromarray(image).resize((chorale.num_steps * scale, height * scale),
                                Image.NEAREST).save(path)


def render_wav(midi_path: str, wav_path: str):
  """The MIDI file rendered by fluidsynth into a WAV."""
  if shutil.which("fluidsynth") is None or not os.path.isfile(SOUNDFONT):
    raise UserError("--audio needs fluidsynth and the General-MIDI soundfont: apt-get install "
                    "fluidsynth fluid-soundfont-gm")
  subprocess.run(["fluidsynth", "-ni", "-q", "-r", str(_SAMPLE_RATE), "-F", wav_path, SOUNDFONT,
                  midi_path], check=True, capture_output=True)


def write(chorale: corpus.Chorale, path: str, audio: str | None = None) -> list[str]:
  """`path` (.musicxml) and, beside it, .mid and .png of the harmonisation; `audio` (.wav) too
  when given. Written to temporary names first, so a failure leaves nothing half written."""
  base = path[:-len(".musicxml")]
  outputs = {".musicxml": path, ".mid": base + ".mid", ".png": base + ".png"}
  if audio:
    outputs[".wav"] = audio
  with tempfile.TemporaryDirectory() as scratch:
    made = {suffix: os.path.join(scratch, "out" + suffix) for suffix in outputs}
    score = to_score(chorale)
    score.write("musicxml", fp=made[".musicxml"])
    score.write("midi", fp=made[".mid"])
    piano_roll(chorale, made[".png"])
    if audio:
      render_wav(made[".mid"], made[".wav"])
    for suffix, target in outputs.items():
      os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
      shutil.move(made[suffix], target)
  return list(outputs.values())
