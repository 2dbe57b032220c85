"""Music composition: the chorale grid, the template rule, the splits by tune and the corpus
builder."""

import glob

from array_record.python import array_record_module
import numpy as np
import pytest
from tensorflow_datasets.proto import tf_example_pb2

from regen_jax.domains.music import analyses, chords, corpus, data


@pytest.fixture(scope="module")
def first_chorales():
  return corpus.read_chorales(corpus.chorale_names()[:data.RegenChorales.BUILDER_CONFIGS[1]
                                                     .num_chorales])[0]


def canonical_records(data_dir, split: str) -> list[bytes]:
  """The records of `split` of the tiny corpus in file order, each re-serialized with protobuf's
  deterministic map order (TFDS writes a tf.Example's features in an order that differs from
  one process to the next; their content is what must not)."""
  records = []
  for path in sorted(glob.glob(f"{data_dir}/regen_chorales/tiny/*/*-{split}.array_record-*")):
    reader = array_record_module.ArrayRecordReader(path)
    records += [tf_example_pb2.Example.FromString(r).SerializeToString(deterministic=True)
                for r in reader.read_all()]
  return records


def _chorale(columns, fermata_from=None) -> corpus.Chorale:
  """A chorale of one chord per beat: `columns` are (soprano, alto, tenor, bass) MIDI pitches,
  each held for a beat, in C major."""
  pitches = np.repeat(np.asarray(columns, np.int32).T, corpus.STEPS_PER_BEAT, axis=1)
  onsets = np.zeros_like(pitches, bool)
  onsets[:, ::corpus.STEPS_PER_BEAT] = True
  fermatas = np.zeros(pitches.shape[1], bool)
  if fermata_from is not None:
    fermatas[fermata_from * corpus.STEPS_PER_BEAT:] = True
  return corpus.Chorale("test", pitches, onsets, fermatas, tonic=0, mode="major", meter="4/4",
                        first_downbeat=0)


def test_grid_reads_a_chorale_with_its_pickup_fermatas_and_key():
  chorale = corpus.read_chorale("bach/bwv269")  # 3/4 in G major, a one-beat pickup
  assert (chorale.meter, chorale.mode, chorale.tonic, chorale.first_downbeat) == (
      "3/4", "major", 7, corpus.STEPS_PER_BEAT)
  assert chorale.pitches[0, :12].tolist() == [67] * 4 + [67] * 8  # G4, then G4 for two beats
  assert chorale.onsets[0, :12].tolist() == [True] + [False] * 3 + [True] + [False] * 7
  assert chorale.fermatas[40] and not chorale.fermatas[39]  # the first fermata: beat 11
  assert np.all(np.diff(chorale.pitches[:, 0]) < 0)  # soprano above alto above tenor above bass


def test_grid_refuses_what_it_cannot_hold():
  with pytest.raises(LookupError, match="no work"):
    corpus.read_chorale("bach/bwv0")
  music21 = corpus._music21()  # pylint: disable=protected-access
  score = music21.stream.Score([music21.stream.Part([music21.meter.TimeSignature("4/4"),
                                                     music21.note.Note("C4", quarterLength=1/3)])
                                for _ in corpus.VOICES])
  with pytest.raises(corpus.GridError, match="off the sixteenth grid"):
    corpus.from_score(score, "triplets")
  with pytest.raises(corpus.GridError, match="3 parts"):
    corpus.from_score(music21.stream.Score(list(score.parts)[:3]), "trio")


def test_template_names_chords_by_degree_falls_back_past_a_suspension_and_marks_cadences():
  chorale = _chorale([(72, 67, 64, 48),   # C E G C: I
                      (72, 69, 65, 53),   # C A F F: IV
                      (72, 65, 67, 43),   # C F G G: a suspension on the beat (see below)
                      (71, 65, 62, 55),   # B F D G: V7
                      (72, 64, 55, 48)],  # I under a fermata
                     fermata_from=4)
  chorale.pitches[1, 10:12] = 64  # the alto's F resolves to E an eighth later: I
  symbols = chords.chords(chorale)
  assert [chords.name(s) for s in symbols] == [
      "1:major", "4:major", "1:major", "5:dominant7", "1:major"]
  assert [chords.name(s, tonic=2) for s in symbols] == ["D", "G", "D", "A7", "D"]
  cadences = chords.cadences(chorale, symbols)
  assert [chords.CADENCES[c] for c in cadences] == ["none"] * 4 + ["authentic"]
  assert chords.chord_tones(symbols[3], tonic=0) == {7, 11, 2, 5}
  assert len(chords.CHORDS) == 50 and chords.chord_tones(chords.OTHER, 0) is None


@pytest.mark.parametrize("previous, chord, cadence", [
    ("4:major", "1:major", "plagal"), ("1:major", "5:major", "half"),
    ("2:major", "5:dominant7", "half"),
    ("5:major", "6:minor", "other"), ("b3:major", "b6:major", "authentic")])
def test_cadence_rule(previous, chord, cadence):
  assert chords.cadence(chords.CHORDS.index(previous), chords.CHORDS.index(chord)) == cadence


def test_template_is_the_same_after_transposition(first_chorales):
  for chorale in first_chorales[:4]:
    for shift in (-5, 2):
      np.testing.assert_array_equal(chords.chords(chorale.transposed(shift)),
                                    chords.chords(chorale))


def test_splits_keep_every_harmonisation_of_a_tune_in_one_split(first_chorales):
  splits = data.split_by_tune(first_chorales)
  tunes = {name: {corpus.melody_id(c) for c in found} for name, found in splits.items()}
  assert all(splits.values()) and sum(map(len, splits.values())) == len(first_chorales)
  assert not (tunes["train"] & tunes["test"] or tunes["train"] & tunes["validation"]
              or tunes["validation"] & tunes["test"])


def test_rule_roots_agree_with_the_expert_analyses_on_most_beats():
  path = next(p for p in analyses.analysis_files() if p.endswith("riemenschneider001.rntxt"))
  found = analyses.chorale_agreement(corpus.read_chorale("bach/bwv269"), path)
  assert found["root_agreement"] > 0.9 and found["beats_named"] > 50


def test_builder_is_deterministic_and_transposes_training_chorales_within_the_voice_ranges(
    tmp_path):
  builds = [tmp_path / "first", tmp_path / "second"]
  for path in builds:
    data.RegenChorales(config="tiny", data_dir=str(path),
                       file_format="array_record").download_and_prepare()
  for split in ("train", "validation", "test"):
    first, second = (canonical_records(path, split) for path in builds)
    assert first == second and first
  ranges = data.voice_ranges("regen_chorales/tiny", str(builds[0]))
  train = data.load("regen_chorales/tiny", "train", str(builds[0]))
  held_out = data.load("regen_chorales/tiny", "test", str(builds[0]))
  assert {int(r["transposition"]) for r in held_out} == {0}
  shifts = {}
  for record in train:
    shifts.setdefault(record["name"], set()).add(int(record["transposition"]))
    for voice, pitches in enumerate(record["pitches"]):
      sounding = pitches[pitches != corpus.REST]
      assert ranges.low[voice] <= sounding.min() and sounding.max() <= ranges.high[voice]
  assert all(0 in found for found in shifts.values())
  assert sum(map(len, shifts.values())) > 2 * len(shifts)  # most chorales move somewhere
