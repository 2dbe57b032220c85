"""Music composition: the chorale grid, the template rule, the splits by tune and the corpus
builder."""

import glob
import json

from array_record.python import array_record_module
import numpy as np
import pytest
from tensorflow_datasets.proto import tf_example_pb2

from regen_jax.domains.music import abstractions, analyses, chords, corpus, data, metrics
from regen_jax.domains.music import notation, windows
from regen_jax.errors import UserError
from tests.helpers import assert_one_error_line, cli, logged

TINY = "regen_chorales/tiny"


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


def _window(columns) -> np.ndarray:
  """One window (of `windows.WINDOW_BEATS` beats) of C major chords, a column per beat, the
  last repeated to fill it."""
  columns = list(columns) + [columns[-1]] * (windows.WINDOW_BEATS - len(columns))
  chorale = _chorale(columns, fermata_from=windows.WINDOW_BEATS - 1)
  window = np.zeros(1, windows.WINDOW)
  window["pitches"], window["onsets"] = chorale.pitches, chorale.onsets
  window["fermatas"] = chorale.fermatas
  return window


def test_harmony_scores_count_parallels_crossings_chord_tones_and_cadences():
  good = _window([(72, 67, 64, 48), (71, 67, 62, 43), (72, 67, 64, 48)])  # I V I, contrary
  parallel = _window([(72, 67, 64, 48), (74, 69, 65, 50)])  # every voice up a step
  crossed = _window([(72, 76, 64, 48)])  # alto above soprano
  ranges = data.VoiceRanges((60, 55, 48, 45), (81, 74, 69, 62))
  assert metrics.parallels_per_100_beats(good) == 0
  # Octaves in soprano and bass (24 -> 24 semitones), fifths in alto and bass (19 -> 19).
  assert metrics.parallels_per_100_beats(parallel) == 100 * 2 / windows.WINDOW_BEATS
  assert metrics.crossings(good) == 0 and metrics.crossings(crossed) == pytest.approx(1 / 3)
  assert metrics.chord_tone_ratio(good, metrics._notes(good)) == 1  # pylint: disable=protected-access
  assert metrics.fermata_cadences(good) == 0  # a fermata on a repeated I: no cadence
  cadence = _window([(72, 67, 64, 48)] * 14 + [(71, 65, 62, 43), (72, 64, 55, 48)])
  assert metrics.fermata_cadences(cadence) == 1
  scores = metrics.scores(good, good, ranges)
  assert scores["note_accuracy_bass"] == 1 and scores["pitch_class_overlap"] == 1
  # The bass's G2 (43) under A2: one beat of the lower voices' 3 x 16.
  assert metrics.out_of_range(good, ranges) == pytest.approx(1 / 48)


@pytest.fixture(scope="module")
def music_data_dir(data_dir):
  data.RegenChorales(config="tiny", data_dir=data_dir,
                     file_format="array_record").download_and_prepare()
  return data_dir


def test_windows_tile_a_chorale_and_their_templates_are_the_chorale_s(music_data_dir):
  record = data.load(TINY, "test", music_data_dir)[0]
  cut = windows.cut(record, None)
  first_beat = int(record["first_downbeat"]) % corpus.STEPS_PER_BEAT
  starts = windows.window_starts(record["pitches"].shape[1], int(record["first_downbeat"]), None)
  assert starts[0] == first_beat and len(starts) == len(cut)
  assert all(b - a == windows.WINDOW_STEPS for a, b in zip(starts[:-2], starts[1:-1]))
  assert record["pitches"].shape[1] - (starts[-1] + windows.WINDOW_STEPS) < corpus.STEPS_PER_BEAT
  whole = chords.chords(corpus.Chorale("", record["pitches"], record["onsets"],
                                       record["fermatas"], int(record["tonic"]), "", "",
                                       int(record["first_downbeat"])))
  for window, template, start in zip(cut, abstractions.templates(cut), starts):
    np.testing.assert_array_equal(window["pitches"],
                                  record["pitches"][:, start:start + windows.WINDOW_STEPS])
    beat = (start - first_beat) // corpus.STEPS_PER_BEAT
    np.testing.assert_array_equal(template[:, 0], whole[beat:beat + windows.WINDOW_BEATS])
    np.testing.assert_array_equal(window["chords"], whole[beat:beat + windows.WINDOW_BEATS])


def test_voice_tokens_round_trip(music_data_dir):
  cut = np.concatenate([windows.cut(r, 2) for r in data.load(TINY, "train", music_data_dir)])
  pitches, onsets = windows.voice_pitches(windows.voice_tokens(cut["pitches"], cut["onsets"]))
  np.testing.assert_array_equal(pitches, cut["pitches"])
  np.testing.assert_array_equal(onsets, cut["onsets"])
  tokens = windows.lower_voices(cut[:3])
  np.testing.assert_array_equal(windows.with_lower_voices(cut[:3], tokens)["pitches"],
                                cut["pitches"][:3])


@pytest.fixture(scope="module")
def trained_music(tmp_path_factory, music_data_dir):
  """The regen pipeline trained once, tiny: the voicing stage (autoregressive) and the planner
  (masked; the direct model is the planner's class over the voices rule)."""
  root = tmp_path_factory.mktemp("music")
  steps = "--config.num_steps=40"
  cli("train", "music/voicing.py:test", root / "voicing", steps)
  cli("train", "music/planner.py:prior=maskgit,test", root / "planner", steps,
      f"--config.stage1.workdir={root / 'voicing'}")
  return root


def test_music_stages_learn_and_harmonise_test_melodies(trained_music):
  for stage in ("voicing", "planner"):
    losses = [row["loss"] for row in logged(trained_music / stage) if "loss" in row]
    assert losses[-1] < losses[0] - 0.5, (stage, losses)
  result = cli("evaluate", "music/planner.py:prior=maskgit,test", trained_music / "planner",
               f"--config.stage1.workdir={trained_music / 'voicing'}", "--config.eval_split=test")
  scores = json.loads(result.stdout.strip().splitlines()[-1])
  assert scores["num_windows"] >= 2 and scores["bach_chord_tone_ratio"] > 0.7
  # Bach's few are passing tones (counted: every change of any voice is a move).
  assert scores["bach_parallels_per_100"] < 6 and scores["bach_out_of_range"] < 0.1
  for key in ("note_accuracy_alto", "chord_tone_ratio", "crossings", "duration_overlap"):
    assert 0 <= scores[f"generated_{key}"] <= 1


def _melody_file(path, notes, parts=1, meter="4/4") -> str:
  """A MusicXML file of `parts` parts, each the `notes` (music21 notes and rests)."""
  music21 = corpus._music21()  # pylint: disable=protected-access
  score = music21.stream.Score()
  for _ in range(parts):
    part = music21.stream.Part([music21.meter.TimeSignature(meter)])
    for note in notes:
      part.append(note.__deepcopy__())
    score.append(part)
  score.write("musicxml", fp=str(path))
  return str(path)


@pytest.mark.parametrize("case, fragment", [
    ("garbage", "does not parse"), ("rests", "no notes"), ("duet", "2 parts"),
    ("high", "outside the soprano"), ("triplets", "grid cannot hold"),
    ("five_eighths", "not a whole number of quarter beats"), ("nine_halves", "bars are longer"),
    ("long", "over this")])
def test_melody_files_are_refused_in_one_line(tmp_path, case, fragment):
  music21 = corpus._music21()  # pylint: disable=protected-access
  note = lambda name, length=1.0: music21.note.Note(name, quarterLength=length)
  path = tmp_path / f"{case}.musicxml"
  if case == "garbage":
    path.write_text("<score-partwise><part>not music")
  else:
    notes = {"rests": [music21.note.Rest(quarterLength=4)],
             "duet": [note("C5")] * 4, "high": [note("C7")] * 4,
             "triplets": [note("C5", 1 / 3)] * 3, "five_eighths": [note("C5", 2.5)] * 2,
             "nine_halves": [note("C5", 18)], "long": [note("C5", 4)] * 300}[case]
    meter = {"five_eighths": "5/8", "nine_halves": "9/2"}.get(case, "4/4")
    _melody_file(path, notes, parts=2 if case == "duet" else 1, meter=meter)
  with pytest.raises(UserError, match=fragment) as error:
    notation.read_melody(str(path), (60, 81))
  assert "\n" not in str(error.value)


def test_a_midi_melody_reads_like_its_musicxml(tmp_path):
  music21 = corpus._music21()  # pylint: disable=protected-access
  notes = [music21.note.Note(name, quarterLength=length) for name, length in
           (("E5", 1), ("D5", 0.5), ("C5", 0.5), ("D5", 2), ("G4", 4))]
  xml = _melody_file(tmp_path / "tune.musicxml", notes)
  midi = str(tmp_path / "tune.mid")
  music21.converter.parse(xml).write("midi", fp=midi)
  from_xml, from_midi = (notation.read_melody(path, (60, 81)) for path in (xml, midi))
  np.testing.assert_array_equal(from_midi.pitches[0], from_xml.pitches[0])
  np.testing.assert_array_equal(from_midi.onsets[0], from_xml.onsets[0])


def test_sample_harmonises_a_melody_file_and_refuses_a_bad_one_writing_nothing(
    trained_music, tmp_path):
  music21 = corpus._music21()  # pylint: disable=protected-access
  melody = [music21.note.Note(name, quarterLength=1.0) for name in
            "G4 G4 A4 B4 C5 B4 A4 G4 A4 B4 C5 D5 C5 B4 A4 G4".split()]
  melody[-1].expressions.append(music21.expressions.Fermata())
  source = _melody_file(tmp_path / "tune.musicxml", melody)
  out = tmp_path / "out" / "tune_harmonised.musicxml"
  link = f"--config.stage1.workdir={trained_music / 'voicing'}"
  cli("sample", "music/planner.py:prior=maskgit,test", trained_music / "planner", link,
      "--melody", source, "--output", str(out))
  score = music21.converter.parse(str(out))
  assert len(score.parts) == 4
  assert [n.pitch.midi for n in score.parts[0].flatten().notes] == [n.pitch.midi for n in melody]
  assert (tmp_path / "out" / "tune_harmonised.mid").stat().st_size > 100
  assert (tmp_path / "out" / "tune_harmonised.png").stat().st_size > 100
  bad = tmp_path / "bad.musicxml"
  bad.write_text("not a score")
  refused = tmp_path / "refused.musicxml"
  result = cli("sample", "music/planner.py:prior=maskgit,test", trained_music / "planner", link,
               "--melody", str(bad), "--output", str(refused), check=False)
  assert_one_error_line(result, "does not parse")
  assert not refused.exists()
