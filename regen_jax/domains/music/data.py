"""TFDS builder `regen_chorales`: Bach's four-part chorales (the `music21` wheel's corpus) on a
sixteenth-note grid, with their templates (`chords.py`).

Splits are by tune: Bach harmonised many chorale melodies more than once, and every
harmonisation of a tune (`corpus.melody_id`) goes to the same split, drawn by a fixed seeded
permutation of the tunes (10 % validation, 10 % test, the rest train), so no held-out melody is
seen in training. Training chorales are augmented by transposition: every shift in
[-`MAX_SHIFT`, `MAX_SHIFT`] semitones that keeps each voice inside its range over the
untransposed training chorales (`VoiceRanges`, saved beside the dataset as `ranges.json`).
The template is computed once per chorale (it names chords relative to the tonic, so a
transposition leaves it unchanged).
"""

import dataclasses
import functools
import json
import os

import numpy as np
import tensorflow_datasets as tfds

from regen_jax.data import pipeline
from regen_jax.domains.music import chords as chords_lib
from regen_jax.domains.music import corpus

_SPLIT_SEED = 20261207  # fixed forever: changing it changes every split
_EVAL_FRACTION = 0.1  # of the tunes, each of validation and test
MAX_SHIFT = 6
RANGES_FILE = "ranges.json"


@dataclasses.dataclass
class ChoraleConfig(tfds.core.BuilderConfig):
  num_chorales: int | None = None  # the corpus's first chorales only (None: all)


def split_by_tune(chorales: list[corpus.Chorale]) -> dict[str, list[corpus.Chorale]]:
  """{train, validation, test} chorales, every harmonisation of a tune in one split, each split
  in corpus order. Both held-out splits get at least one tune."""
  tunes = sorted({corpus.melody_id(c) for c in chorales})
  order = np.random.default_rng(_SPLIT_SEED).permutation(len(tunes))
  held = max(1, round(len(tunes) * _EVAL_FRACTION))
  split_of = {tunes[i]: "train" for i in order[2 * held:]}
  split_of.update({tunes[i]: "validation" for i in order[:held]})
  split_of.update({tunes[i]: "test" for i in order[held:2 * held]})
  splits = {name: [] for name in ("train", "validation", "test")}
  for chorale in chorales:
    splits[split_of[corpus.melody_id(chorale)]].append(chorale)
  return splits


@dataclasses.dataclass(frozen=True)
class VoiceRanges:
  """The lowest and highest MIDI pitch of each voice (soprano, alto, tenor, bass)."""
  low: tuple[int, ...]
  high: tuple[int, ...]

  @classmethod
  def of(cls, chorales: list[corpus.Chorale]) -> "VoiceRanges":
    pitches = np.concatenate([c.pitches for c in chorales], axis=1).astype(float)
    pitches[pitches == corpus.REST] = np.nan
    return cls(tuple(int(p) for p in np.nanmin(pitches, 1)),
               tuple(int(p) for p in np.nanmax(pitches, 1)))

  def holds(self, chorale: corpus.Chorale) -> bool:
    for voice, (low, high) in enumerate(zip(self.low, self.high)):
      sounding = chorale.pitches[voice][chorale.pitches[voice] != corpus.REST]
      if sounding.size and (sounding.min() < low or sounding.max() > high):
        return False
    return True

  def shifts(self, chorale: corpus.Chorale) -> list[int]:
    """The transpositions (semitones, 0 first) that keep every voice in range."""
    return [s for s in sorted(range(-MAX_SHIFT, MAX_SHIFT + 1), key=abs)
            if self.holds(chorale.transposed(s))]


class RegenChorales(tfds.core.GeneratorBasedBuilder):
  """Bach chorales, soprano + alto + tenor + bass on a sixteenth grid, with chord templates."""

  VERSION = tfds.core.Version(f"1.0.{chords_lib.RULE_VERSION}")
  BUILDER_CONFIGS = [
      ChoraleConfig(name="full", description="every chorale of the corpus in four voices the "
                    "grid holds (327 of 350), training ones transposed"),
      ChoraleConfig(name="tiny", description="the corpus's first 16 chorales (tests)",
                    num_chorales=16),
  ]

  def _info(self):
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "name": tfds.features.Text(), "transposition": np.int32,
            "pitches": tfds.features.Tensor(shape=(len(corpus.VOICES), None), dtype=np.int32),
            "onsets": tfds.features.Tensor(shape=(len(corpus.VOICES), None), dtype=np.bool_),
            "fermatas": tfds.features.Tensor(shape=(None,), dtype=np.bool_),
            "chords": tfds.features.Tensor(shape=(None,), dtype=np.int32),
            "cadences": tfds.features.Tensor(shape=(None,), dtype=np.int32),
            "tonic": np.int32, "mode": tfds.features.Text(), "meter": tfds.features.Text(),
            "first_downbeat": np.int32}),
        homepage="https://web.mit.edu/music21/")

  def _split_generators(self, dl_manager):
    del dl_manager  # everything is local
    names = corpus.chorale_names()[:self.builder_config.num_chorales]
    splits = split_by_tune(corpus.read_chorales(names)[0])
    ranges = VoiceRanges.of(splits["train"])
    # self.data_dir is the dataset's directory while it is built: the file moves with it.
    with open(os.path.join(self.data_dir, RANGES_FILE), "w") as f:
      json.dump(dataclasses.asdict(ranges), f)
    return {name: self._generate_examples(found, ranges if name == "train" else None)
            for name, found in splits.items()}

  def _generate_examples(self, chorales, ranges: VoiceRanges | None):
    for chorale in chorales:
      symbols = chords_lib.chords(chorale)
      template = {"chords": symbols, "cadences": chords_lib.cadences(chorale, symbols)}
      for shift in ranges.shifts(chorale) if ranges else [0]:
        moved = chorale.transposed(shift)
        yield f"{chorale.name}{shift:+d}", {
            "name": chorale.name, "transposition": shift, "pitches": moved.pitches,
            "onsets": moved.onsets, "fermatas": moved.fermatas, **template,
            "tonic": moved.tonic, "mode": moved.mode, "meter": moved.meter,
            "first_downbeat": moved.first_downbeat}


_TEXT_FIELDS = ("name", "mode", "meter")


def load(dataset: str, split: str, data_dir: str | None) -> list[dict]:
  """The examples of `split` (the dataset is built first if it is not), text fields as str."""
  return [{**record, **{key: record[key].decode() for key in _TEXT_FIELDS}}
          for record in pipeline.read_split(dataset, split, data_dir)]


@functools.cache
def voice_ranges(dataset: str, data_dir: str | None) -> VoiceRanges:
  """The training chorales' voice ranges (building the dataset first if it is not)."""
  pipeline.data_source(dataset, "train", data_dir)  # prepares it
  builder = tfds.builder(dataset, data_dir=os.path.expanduser(data_dir) if data_dir else None,
                         file_format="array_record")
  with open(os.path.join(builder.data_dir, RANGES_FILE)) as f:
    found = json.load(f)
  return VoiceRanges(tuple(found["low"]), tuple(found["high"]))
