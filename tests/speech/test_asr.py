"""Speech recognition: targets, CTC feasibility, SpecAugment, spelling long inputs, and the three
stages via the CLI."""

import json
import wave

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.data import pipeline
from regen_jax.domains.speech import corpus, language_model, p2g, text_corpus
from regen_jax.domains.speech import recognizer as recognizer_lib
from regen_jax.errors import UserError
from regen_jax.evaluate import text as text_metrics
from regen_jax.priors import ctc_algorithms as ctc
from regen_jax.stages import base as stage_lib
from regen_jax.stages import pairing
from tests.helpers import assert_one_error_line, cli, config, logged


def test_spoken_text_spells_numbers_and_round_trips_the_character_table():
  assert phoneme_lib.spoken_text("Dr. Who owes $5, ok?") == "doctor who owes five dollars ok"
  text = "It's a well-known fact."
  ids = phoneme_lib.encode_characters(text)
  assert phoneme_lib.decode_characters(ids) == "it's a well-known fact"
  assert phoneme_lib.decode_characters(np.arange(phoneme_lib.NUM_CHARACTERS)) == "".join(
      phoneme_lib.CHARACTERS[1:])
  with pytest.raises(UserError, match="empty"):
    phoneme_lib.encode_characters("  ")
  with pytest.raises(UserError, match="outside"):
    phoneme_lib.decode_characters([phoneme_lib.NUM_CHARACTERS])


def test_ctc_rows_that_cannot_fit_their_frames_are_left_out():
  labels = jnp.array([[3, 3, 4, 0], [5, 6, 7, 8], [2, 2, 2, 0]])
  label_lengths = jnp.array([3, 4, 2])
  np.testing.assert_array_equal(ctc.required_frames(labels, label_lengths), [4, 4, 3])
  logits = jax.random.normal(jax.random.key(0), (3, 5, 9))
  frames = jnp.array([4, 3, 2])  # row 0 fits exactly; rows 1 and 2 need one frame more
  sums = ctc.fitting_sums(logits, frames, labels, label_lengths)
  alone = ctc.ctc_loss(logits[:1], frames[:1], labels[:1], label_lengths[:1])[0]
  np.testing.assert_allclose(sums["ctc_sum"], alone, rtol=1e-6)
  assert sums["labels"] == 3 and sums["rows_left_out"] == 2
  weighted = ctc.fitting_sums(logits, frames, labels, label_lengths, jnp.array([0.0, 1, 1]))
  assert weighted["ctc_sum"] == 0 and weighted["labels"] == 0 and weighted["rows_left_out"] == 2


def test_spec_augment_masks_bands_inside_each_utterance():
  mel = jnp.ones((64, 100, 80))
  num_frames = jnp.full((64,), 60).at[0].set(20)
  masked = np.asarray(recognizer_lib.spec_augment(jax.random.key(1), mel, num_frames, 2, 10,
                                                  2, 0.1)) == 0
  bins = masked[:, 70:].all(axis=1)  # past every utterance only frequency masks act: whole bins
  assert 0 < bins.sum(1).max() <= 20 and bins.sum(1).min() >= 0
  frames = masked.all(axis=2)  # a masked frame is zero in every bin
  assert 0 < frames.sum(1).max() <= 2 * 6 and frames[0].sum() <= 2 * 2
  assert not frames[:, 60:].any() and not frames[0, 20:].any()
  other = recognizer_lib.spec_augment(jax.random.key(2), mel, num_frames, 2, 10, 2, 0.1)
  assert not np.array_equal(np.asarray(other) == 0, masked)


def test_recognizer_halves_the_frame_rate_and_counts_partial_windows():
  model = recognizer_lib.SpeechEncoder(width=16, max_frames=12, num_subsampling_convs=2)
  inputs = {"mel": jnp.zeros((2, 12, 80)), "num_frames": jnp.array([12, 5])}
  params = model.init(jax.random.key(0), inputs)
  frames, lengths = model.apply(params, inputs)
  assert frames.shape == (2, 3, 16) and model.max_length == 3
  np.testing.assert_array_equal(lengths, [3, 2])


def test_labels_are_stage_1s_phonemes_or_spoken_characters(speech_data_dir):
  for name in ("recognizer", "direct"):
    stage = stage_lib.build(config(f"asr/{name}.py:test"))
    arrays, texts = stage.eval_arrays, stage.eval_texts
    for row, text in enumerate(texts):
      labels = arrays["labels"][row, :arrays["num_labels"][row]]
      if name == "recognizer":
        np.testing.assert_array_equal(labels, phoneme_lib.encode(text))
      else:
        assert phoneme_lib.decode_characters(labels) == phoneme_lib.spoken_text(text)
      assert not arrays["labels"][row, arrays["num_labels"][row]:].any()


def test_word_pieces_cut_long_phoneme_sequences_at_word_boundaries_only():
  ids = phoneme_lib.encode("The quick brown fox jumps over the lazy dog, " * 6)
  boundary = phoneme_lib.symbol_to_id[phoneme_lib.BOUNDARY]
  pieces = p2g.word_pieces(ids, 40)
  assert len(pieces) > 1 and all(len(piece) <= 40 for piece in pieces)
  rejoined = [i for piece in pieces for i in [*piece, boundary]][:-1]
  np.testing.assert_array_equal(rejoined, ids)  # nothing cut off, words whole
  assert p2g.word_pieces(ids[:10], 40) == [list(ids[:10])]
  with pytest.raises(UserError, match="a word of 5 phonemes exceeds max_phonemes=4"):
    p2g.word_pieces(phoneme_lib.encode("Hello."), 4)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, speech_data_dir):
  root = tmp_path_factory.mktemp("asr")
  for name in ("recognizer", "direct", "p2g"):
    cli("train", f"asr/{name}.py:test", root / name, "--config.num_steps=60",
        "--config.eval_every=30")
  return root


@pytest.mark.parametrize("name", ["recognizer", "direct", "p2g"])
def test_each_stage_learns(trained, name):
  loss = [row["ctc_per_label"] for row in logged(trained / name) if "ctc_per_label" in row]
  assert loss[-1] < 0.8 * loss[0]


def test_beam_search_is_never_less_probable_or_worse_than_greedy(trained):
  stage, params, model_state, _ = pairing.restore_workdir(str(trained / "recognizer"))
  arrays = stage.eval_arrays
  log_probs, lengths = jax.device_get(jax.jit(stage.log_probs)(params, model_state, arrays))
  greedy = ctc.batch_decode(log_probs, lengths)
  beam = ctc.batch_decode(log_probs, lengths, beam_size=stage.config.beam_size)
  for row, n, g, b in zip(log_probs, lengths, greedy, beam):
    assert ctc.sequence_log_prob(row, n, b) >= ctc.sequence_log_prob(row, n, g) - 1e-9
  references = [row[:n] for row, n in zip(arrays["labels"], arrays["num_labels"])]
  assert text_metrics.phoneme_error_rate(references, beam) <= text_metrics.phoneme_error_rate(
      references, greedy)


def test_pipeline_evaluation_reports_phoneme_character_and_word_error_rates(trained,
                                                                          speech_data_dir):
  result = cli("evaluate", "asr/recognizer.py:test", trained / "recognizer",
               f"--config.stage1.workdir={trained / 'p2g'}", "--config.eval_split=test_voice",
               "--config.stage1.language_model.word_bonus=2")  # decoding: not the trained run
  summary = json.loads(result.stdout.strip().splitlines()[-1])
  assert summary["split"] == "test_voice"
  for key in ("per", "cer", "wer", "beam_per", "beam_cer", "beam_wer", "lm_cer", "lm_wer",
              "lexicon_per", "lexicon_cer", "lexicon_wer"):
    assert 0 <= summary[key] <= 5, key
  assert summary["lm_per"] == summary["beam_per"]  # the LM helps the spelling, not the phonemes
  assert summary["utterances"] == summary["pocketsphinx_asr_utterances"] == 8
  assert 0 <= summary["pocketsphinx_asr_wer"] <= 1  # festival's voices, which it knows well
  written = (trained / "recognizer" / "samples").glob("beam_transcripts_*.txt")
  assert "reference: " in next(written).read_text()
  direct = json.loads(cli("evaluate", "asr/direct.py:test", trained / "direct").stdout
                      .strip().splitlines()[-1])
  assert "per" not in direct and direct["cer"] > 0 and direct["beam_wer"] > 0
  assert 0 < direct["lm_wer"] <= 5 and 0 < direct["lexicon_wer"] <= 5
  assert "pocketsphinx_asr_wer" not in direct
  model = language_model.word_scorer(config("asr/direct.py:test").language_model,
                                     str(speech_data_dir)).lm
  for stage in ("recognizer", "direct"):  # the LM keeps the beam's words in its vocabulary
    unknown = {prefix: _unknown_share(trained / stage, prefix, model.vocabulary)
               for prefix in ("beam_", "lm_", "lexicon_")}
    assert unknown["lm_"] <= unknown["beam_"] and unknown["lexicon_"] == 0, (stage, unknown)


def _unknown_share(workdir, prefix: str, vocabulary) -> float:
  """Share of the words of the latest `prefix` transcripts that are not in `vocabulary`."""
  (path,) = sorted((workdir / "samples").glob(f"{prefix}transcripts_*.txt"))[-1:]
  words = [w for line in path.read_text().splitlines() if line.startswith("text:")
           for w in line.split()[1:]]
  return sum(w not in vocabulary for w in words) / max(len(words), 1)


def _write_wav(path, samples, rate):
  with wave.open(str(path), "wb") as f:
    f.setnchannels(1)
    f.setsampwidth(2)
    f.setframerate(rate)
    f.writeframes(np.asarray(samples, np.int16).tobytes())


def test_sample_transcribes_a_recording_and_refuses_bad_audio(trained, tmp_path,
                                                               speech_data_dir):
  audio = corpus.speak("Good morning to you.", corpus.ESPEAK_VOICES[0])
  _write_wav(tmp_path / "speech.wav", audio[::2], 11025)  # another rate: resampled
  out = tmp_path / "transcript.txt"
  result = cli("sample", "asr/recognizer.py:test", trained / "recognizer", "--audio",
               str(tmp_path / "speech.wav"), f"--config.stage1.workdir={trained / 'p2g'}",
               f"--output={out}")
  assert "resampling" in result.stdout and f"wrote {out}" in result.stdout
  lines = out.read_text().splitlines()
  assert lines[0].startswith("phonemes: ") and lines[1].startswith("text: ")
  direct = cli("sample", "asr/direct.py:test", trained / "direct", "--audio",
               str(tmp_path / "speech.wav"), "--config.sample_decoding=lexicon")
  vocabulary = language_model.word_scorer(config("asr/direct.py:test").language_model,
                                          str(speech_data_dir)).lm.vocabulary
  (written,) = [line[len("text: "):] for line in direct.stdout.splitlines()
                if line.startswith("text: ")]
  assert set(written.split()) <= vocabulary
  bad_decoding = cli("sample", "asr/direct.py:test", trained / "direct", "--audio",
                     str(tmp_path / "speech.wav"), "--config.sample_decoding=loud", check=False)
  assert_one_error_line(bad_decoding, "give one of greedy, beam, lm, lexicon")
  _write_wav(tmp_path / "silent.wav", np.zeros(22050), 22050)
  (tmp_path / "notes.wav").write_text("not audio")
  _write_wav(tmp_path / "click.wav", audio[:1000], 22050)
  for name, message in (("silent.wav", "silent"), ("notes.wav", "not a PCM WAV"),
                        ("click.wav", "too short"), ("missing.wav", "does not exist")):
    bad = cli("sample", "asr/recognizer.py:test", trained / "recognizer", "--audio",
              str(tmp_path / name), check=False)
    assert_one_error_line(bad, message)


def test_p2g_spells_text_and_pairing_mistakes_are_clear_errors(trained):
  result = cli("sample", "asr/p2g.py:test", trained / "p2g", "--text", "Hello there.")
  assert "phonemes: HH AH0 L OW1 | DH EH1 R ." in result.stdout and "text: " in result.stdout
  rule = cli("evaluate", "asr/direct.py:test", trained / "direct",
             f"--config.stage1.workdir={trained / 'p2g'}", check=False)
  assert_one_error_line(rule, "is a rule: it takes no workdir")
  other = cli("evaluate", "asr/recognizer.py:test", trained / "recognizer",
              f"--config.stage1.workdir={trained / 'direct'}", check=False)
  assert_one_error_line(other, "holds a 'speech.recognizer:Recognizer' stage, not the "
                               "'speech.p2g:PhonemeToGrapheme' stage")


def test_p2g_spells_more_phonemes_than_it_takes_in_pieces(trained):
  stage, params, model_state, _ = pairing.restore_workdir(str(trained / "p2g"))
  ids = phoneme_lib.encode("The quick brown fox jumps over the lazy dog. " * 5)
  assert len(ids) > stage.config.max_phonemes
  (text,) = stage.transcribe(params, model_state, [ids])
  pieces = p2g.word_pieces(ids, stage.config.max_phonemes)
  spelled = stage.transcribe(params, model_state, pieces)
  assert text == " ".join(spelled)


def test_text_corpus_holds_out_the_speech_corpus_evaluation_sentences(speech_data_dir):
  lines = {split: pipeline.read_split("regen_text/tiny", split, speech_data_dir)
           for split in ("train", "validation", "test")}
  texts = {split: [r["text"].decode() for r in records] for split, records in lines.items()}
  kinds = [r["kind"] for r in lines["train"]]
  assert 0 < kinds.count(1) < len(kinds)  # sentences and lexicon lines
  sentences = corpus.sentences(corpus.corpus_dir())
  assert not set(texts["train"]) & set(sentences[:text_corpus.HELD_OUT])
  for split in ("validation", "test"):
    spoken = [r["text"].decode() for r in pipeline.read_split("regen_speech/tiny", split,
                                                               speech_data_dir)]
    assert sorted(texts[split]) == sorted(spoken)


def test_lexicon_decoding_reads_the_rules_phonemes_back_as_the_sentences_words(speech_data_dir):
  lm_config = config("asr/recognizer.py:test").language_model
  scorer = language_model.word_scorer(lm_config, str(speech_data_dir), "phonemes")
  records = pipeline.read_split("regen_text/tiny", "train", speech_data_dir)
  spoken = [phoneme_lib.spoken_text(r["text"].decode()) for r in records if r["kind"] == 0][:4]
  decoded = []
  for text in spoken:  # certain frames: each phoneme, then a blank
    frames = np.log(np.full((2 * len(phoneme_lib.encode(text)), phoneme_lib.NUM_SYMBOLS), 1e-4))
    frames[0::2][np.arange(len(frames) // 2), phoneme_lib.encode(text)] = 0.0
    frames[1::2, ctc.BLANK] = 0.0
    decoded.append(" ".join(scorer.words(ctc.beam_search(frames, len(frames), 4, scorer))))
  assert text_metrics.word_error_rate(spoken, decoded) <= 0.1, list(zip(spoken, decoded))
  with pytest.raises(ValueError, match="'characters' or 'phonemes'"):
    language_model.word_scorer(lm_config, str(speech_data_dir), "graphemes")
