"""Speech synthesis: mel distances, the corpus, the optimizers of the GAN's players, and the
stages via the CLI (pairing with the vocoder, export, fine-tuning, the direct baseline)."""

import json
import os
import shutil
import subprocess
import sys
import wave

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pysptk
import pytest

from regen_jax import export
from regen_jax.abstractions import mel as mel_lib
from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.core import loop, optimizer
from regen_jax.core import workdir as workdir_lib
from regen_jax.data import pipeline
from regen_jax.domains.speech import audio as audio_io
from regen_jax.domains.speech import corpus, intelligibility, vocoder, vocoder_models
from regen_jax.domains.speech.acoustic import AcousticModel
from regen_jax.domains.speech.utterances import phoneme_ids
from regen_jax.errors import UserError
from regen_jax.export import exported
from tests.helpers import ROOT, assert_one_error_line, cli, config, logged, marking_slow

DATASET = "regen_speech/tiny"
ACOUSTIC, VOCODER = "tts/acoustic.py:test", "tts/vocoder.py:test"


def test_mel_distances_vanish_only_for_equal_mels():
  mel = np.random.default_rng(2).normal(size=(30, 80))
  assert audio_io.compare_mels(mel, mel) == {"mel_l1": 0.0, "mcd": 0.0}
  slower = np.repeat(mel, 2, axis=0)  # the same content at half speed: DTW aligns it exactly
  assert audio_io.compare_mels(slower, mel)["mcd"] == pytest.approx(0.0, abs=1e-9)
  other = audio_io.compare_mels(mel + 0.5, mel)
  assert other["mel_l1"] == pytest.approx(0.5) and other["mcd"] > 0


def test_mel_cepstrum_is_sptks_cepstrum_and_mcd_the_standard_formula():
  # An independent generator: SPTK turns a cepstrum into its log spectrum; sampled at the band
  # centres w_n = pi (2n + 1) / (2 n_mels) (the odd bins of a 4 * n_mels FFT), c1..c13 come back.
  n_mels = 64  # SPTK's FFT length must be a power of two
  cepstra = np.random.default_rng(3).normal(scale=0.3, size=(2, 25))
  log_mel = np.stack([pysptk.mgc2sp(c, 0.0, 0.0, 4 * n_mels).real[1::2][:n_mels]
                      for c in cepstra])
  np.testing.assert_allclose(audio_io.mel_cepstrum(log_mel), cepstra[:, 1:14], atol=1e-9)
  expected = 10 / np.log(10) * np.sqrt(2 * np.sum((cepstra[0, 1:14] - cepstra[1, 1:14]) ** 2))
  assert audio_io.compare_mels(log_mel[:1], log_mel[1:])["mcd"] == pytest.approx(expected)


def test_mel_distances_align_equal_lengths_too():
  mel = np.cumsum(np.random.default_rng(4).normal(size=(40, 80)), axis=0)
  late = np.concatenate([mel[:1], mel[:-1]])  # one frame late, the same length
  frame_by_frame = 10 / np.log(10) * np.sqrt(
      2 * np.sum((audio_io.mel_cepstrum(late) - audio_io.mel_cepstrum(mel)) ** 2, -1)).mean()
  assert audio_io.compare_mels(late, mel)["mcd"] < frame_by_frame / 5


def test_pocketsphinx_understands_a_real_voice_and_not_noise():
  texts = ["To believe all men honest would be folly.", "He owes 5 dollars."]
  speech = [corpus.speak(t, "flite:rms").astype(np.float32) / 32768 for t in texts]
  lengths = [len(s) for s in speech]
  waves = np.zeros((2, max(lengths)), np.float32)
  for row, s in zip(waves, speech):
    row[:len(s)] = s
  recognizer = intelligibility.Recognizer()
  scores, transcripts = recognizer.score(waves, lengths, texts, corpus.SAMPLE_RATE)
  assert scores["asr_wer"] <= 0.2 and scores["asr_utterances"] == 2, transcripts
  noise = np.random.default_rng(5).normal(scale=0.1, size=waves.shape)
  assert recognizer.score(noise, lengths, texts, corpus.SAMPLE_RATE)[0]["asr_wer"] >= 0.8
  with pytest.raises(ValueError, match="2 waveforms, 2 lengths, 1 texts"):
    recognizer.score(waves, lengths, texts[:1], corpus.SAMPLE_RATE)


def test_pocketsphinx_workers_hear_what_one_decoder_hears(monkeypatch):
  waves = [corpus.speak(t, voice).astype(np.float32) / 32768 for t, voice in (
      ("Good morning to you.", "flite:slt"), ("He owes 5 dollars.", "flite:awb"),
      ("Never mind.", "espeak-ng:en-us"))]
  serial = intelligibility.Recognizer(workers=1).transcribe_all(waves, corpus.SAMPLE_RATE)
  monkeypatch.setattr(intelligibility, "PARALLEL_FROM", 2)
  assert intelligibility.Recognizer(workers=2).transcribe_all(waves, corpus.SAMPLE_RATE) == serial


def test_corpus_splits_by_sentence_and_holds_out_an_engine(speech_data_dir):
  splits = {name: pipeline.read_split(DATASET, name, speech_data_dir)
            for name in ("train", "validation", "test", "test_voice")}
  texts = {name: [r["text"].decode() for r in records] for name, records in splits.items()}
  assert len(texts["train"]) == 48 and len(texts["validation"]) == 8
  assert not set(texts["train"]) & (set(texts["validation"]) | set(texts["test"]))
  assert sorted(texts["test_voice"]) == sorted(texts["test"])
  voice_engine = lambda r: corpus.VOICES[r["voice"]].split(":")[0]
  assert {voice_engine(r) for r in splits["test_voice"]} == {"festival"}
  assert {voice_engine(r) for name in ("train", "validation", "test")
          for r in splits[name]} == {"flite", "espeak-ng"}
  assert {r["voice"] for r in splits["train"]} == set(range(len(corpus.TRAIN_VOICES)))
  assert all(len(r["audio"]) > corpus.SAMPLE_RATE // 2 for name in splits
             for r in splits[name])
  first = splits["train"][0]
  assert first["phonemes"].decode() == phoneme_lib.to_string(
      phoneme_lib.encode(first["text"].decode()))


def test_every_engine_speaks_at_the_corpus_rate():
  for voice in (corpus.SINGLE_VOICE, corpus.ESPEAK_VOICES[0], corpus.HELD_OUT_VOICES[0]):
    audio = corpus.speak("Good morning to you.", voice)
    seconds = len(audio) / corpus.SAMPLE_RATE
    assert audio.dtype == np.int16 and 0.5 < seconds < 3 and np.abs(audio).max() > 1000, voice
  slower = corpus.speak("Good morning to you.", corpus.SINGLE_VOICE, stretch=1.5)
  assert len(slower) > 1.3 * len(corpus.speak("Good morning to you.", corpus.SINGLE_VOICE))


def test_speech_arrays_are_padded_utterances_with_their_phonemes(speech_data_dir):
  stage = AcousticModel(config(ACOUSTIC), None)
  arrays, texts = stage.eval_arrays, stage.eval_texts
  hop = stage.mel_config.hop_length
  assert arrays["audio"].shape == (len(texts), stage.config.max_frames * hop)
  for i, text in enumerate(texts):
    ids = arrays["phonemes"][i, :arrays["num_phonemes"][i]]
    np.testing.assert_array_equal(ids, phoneme_ids(text))
    assert not arrays["phonemes"][i, len(ids):].any()
    assert not arrays["audio"][i, arrays["num_frames"][i] * hop:].any()
  with pytest.raises(UserError, match="empty"):
    stage.text_inputs("  ")
  with pytest.raises(UserError, match="max_phonemes"):
    stage.text_inputs("hello " * 80)


def test_each_param_tree_in_config_optimizers_gets_its_own_optimizer():
  vocoder_config = config(VOCODER)
  params = {"generator": jnp.ones(3), "discriminator": jnp.ones(2)}
  tx = optimizer.make(vocoder_config)
  state = tx.init(params)
  grads = {"generator": jnp.ones(3), "discriminator": jnp.zeros(2)}
  for _ in range(vocoder_config.optimizer.warmup_steps + 1):  # past the warm-up's zero rate
    updates, state = tx.update(grads, state, params)
  assert np.all(np.asarray(updates["discriminator"]) == 0)  # its own moments: untouched
  assert np.all(np.asarray(updates["generator"]) < 0)
  assert set(state.inner_states) == {"default", "generator", "discriminator"}
  vocoder_config.optimizers = {"critic": {"learning_rate": 1e-4}}
  with pytest.raises(UserError, match="critic"):
    optimizer.make(vocoder_config).init(params)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, speech_data_dir):
  root = tmp_path_factory.mktemp("tts")
  cli("train", ACOUSTIC, root / "acoustic", "--config.num_steps=40")
  cli("train", VOCODER, root / "vocoder")
  return root


def test_acoustic_model_learns(trained):
  mel_l1 = [row["mel_l1"] for row in logged(trained / "acoustic") if "mel_l1" in row]
  prior = [row["prior"] for row in logged(trained / "acoustic") if "prior" in row]
  assert mel_l1[-1] < 0.8 * mel_l1[0] and prior[-1] < prior[0]


def test_sample_speaks_text_through_the_vocoder(trained, tmp_path):
  out = tmp_path / "hello.wav"
  result = cli("sample", ACOUSTIC, trained / "acoustic", "--text", "Hello world, 21 cats.",
               f"--config.stage1.workdir={trained / 'vocoder'}", f"--output={out}")
  assert f"wrote {out}" in result.stdout
  with wave.open(str(out)) as f:
    assert f.getframerate() == 22050 and f.getnframes() > 0 and f.getnframes() % 256 == 0
  assert (tmp_path / "hello.png").stat().st_size > 0
  slow = tmp_path / "slow.wav"
  cli("sample", ACOUSTIC, trained / "acoustic", "--text", "Hello world, 21 cats.", "--pace=0.5",
      f"--config.stage1.workdir={trained / 'vocoder'}", f"--output={slow}")
  with wave.open(str(out)) as normal, wave.open(str(slow)) as half_speed:
    assert half_speed.getnframes() > 1.5 * normal.getnframes()


def test_bad_text_and_mismatched_vocoder_are_clear_errors(trained, tmp_path):
  assert_one_error_line(cli("sample", ACOUSTIC, trained / "acoustic", "--text", " ",
                            check=False), "empty")
  assert_one_error_line(cli("sample", ACOUSTIC, trained / "acoustic", "--text", "a # b",
                            check=False), "'#'")
  assert_one_error_line(cli("sample", ACOUSTIC, trained / "acoustic", "--text", "Hi.",
                            "--pace=9", check=False), "--pace 9.0: give a speaking rate in")
  other = tmp_path / "vocoder_40_mels"
  other.mkdir()
  saved = json.loads((trained / "vocoder" / "config.json").read_text())
  saved["mel"]["n_mels"] = 40
  (other / "config.json").write_text(json.dumps(saved))
  paired = cli("sample", ACOUSTIC, trained / "acoustic", "--text", "Hi.",
               f"--config.stage1.workdir={other}", check=False)
  assert_one_error_line(paired, "mel.n_mels: saved 40, given 80")


def test_workdirs_of_other_speech_stages_are_refused_naming_both(trained, tmp_path):
  assert_one_error_line(cli("evaluate", ACOUSTIC, trained / "vocoder", check=False),
                        "holds a 'speech.vocoder:Vocoder' stage, not the "
                        "'speech.acoustic:AcousticModel' stage")
  assert_one_error_line(cli("sample", ACOUSTIC, trained / "acoustic", "--text", "Hi.",
                            f"--config.stage1.workdir={trained / 'acoustic'}", check=False),
                        "holds a 'speech.acoustic:AcousticModel' stage, not the "
                        "'speech.vocoder:Vocoder' stage")


def test_vocoder_evaluation_scores_every_system_on_the_same_utterances(trained):
  result = cli("evaluate", VOCODER, trained / "vocoder")
  summary = json.loads(result.stdout.strip().splitlines()[-1])
  assert summary["resynthesis_mel_l1"] > 0 and summary["times_real_time"] > 0
  counts = {summary[f"{name}_utterances"] for name in
            ("vocoder", "griffin_lim", "vocoder_asr", "griffin_lim_asr", "recordings_asr")}
  assert counts == {4}  # num_synthesized of the tiny config
  assert summary["griffin_lim_mcd"] > 0 and summary["vocoder_mcd"] > 0
  assert all(summary[f"{name}_asr_wer"] >= 0 for name in ("vocoder", "griffin_lim", "recordings"))
  transcripts = json.loads(next((trained / "vocoder" / "samples").glob(
      "recordings_transcripts_*.json")).read_text())
  assert len(transcripts) == 4 and all(t["text"] for t in transcripts)
  assert len(list((trained / "vocoder" / "samples").glob("resynthesis_*.wav"))) >= 4


def test_checkpoint_of_other_layer_shapes_is_refused_in_one_line(trained, tmp_path):
  # A workdir whose config says 16 channels holding arrays of 32: what a checkpoint written
  # before a change to the model's layers looks like to new code.
  copy = shutil.copytree(trained / "vocoder", tmp_path / "vocoder")
  saved = json.loads((copy / "config.json").read_text())
  saved["gan"]["spectral_channels"] = 16
  (copy / "config.json").write_text(json.dumps(saved))
  result = cli("evaluate", VOCODER, copy, "--config.gan.spectral_channels=16", check=False)
  assert_one_error_line(result, "written by another version of this model",
                        "stored (32,), model (16,)")


def test_phase_oracle_experiment_ranks_known_phases(trained, tmp_path):
  out = tmp_path / "oracles.json"
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, "experiments", "vocoder_phase_oracles.py"), "--test",
       "--utterances", "4", f"--vocoder_workdir={trained / 'vocoder'}", "--out", str(out)],
      cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(out.read_text())
  assert json.loads(result.stdout) == report and report["utterances"] == 4
  l1 = {name: row["all_bands"] for name, row in report["mel_l1"].items()}
  assert l1["recording_magnitude+recording_phase"] < 1e-3  # the inverse STFT is exact
  for magnitude in ("pseudo_inverse", "recording"):
    row = lambda phase: l1[f"{magnitude}_magnitude+{phase}_phase"]
    assert row("recording") < row("peak_locked") < row("independent_bins") < row("random")
  assert l1["griffin_lim_mel_32"] < l1["griffin_lim_magnitude_32"] < l1["griffin_lim_magnitude_8"]
  assert l1["trained_vocoder"] > 0


def test_vocoder_fine_tunes_on_predicted_mels_kept_out_of_its_checkpoints(trained, tmp_path):
  workdir = tmp_path / "finetuned"
  cli("train", VOCODER, workdir, "--config.num_steps=4",
      f"--config.finetune_on.workdir={trained / 'acoustic'}")
  assert all(np.isfinite(row["mel_l1"]) for row in logged(workdir) if "mel_l1" in row)
  items = os.listdir(workdir / "checkpoints" / "4")
  assert "model_state" not in items  # no frozen acoustic model saved with the vocoder
  stale = cli("train", VOCODER, workdir, "--config.num_steps=6", check=False)
  assert_one_error_line(stale, "trained against other inputs", "input_mels")


def test_direct_baseline_trains_evaluates_and_speaks(trained, tmp_path):
  workdir = tmp_path / "direct"
  cli("train", "tts/direct.py:test", workdir, "--config.num_steps=10")
  summary = json.loads(cli("evaluate", "tts/direct.py:test", workdir).stdout.splitlines()[-1])
  assert summary["mcd"] > 0 and summary["teacher_forced_mel_l1"] > 0
  assert 0 <= summary["direct_asr_wer"] and summary["direct_asr_utterances"] == 4
  assert 0 <= summary["prior_decided"] <= 1 and summary["length_ratio"] > 0
  out = tmp_path / "direct.wav"
  cli("sample", "tts/direct.py:test", workdir, "--text", "Good morning.", f"--output={out}")
  with wave.open(str(out)) as f:
    assert f.getnframes() > 0


def test_export_reproduces_phonemes_to_waveform(trained, tmp_path):
  acoustic = str(trained / "acoustic")
  saved = workdir_lib.saved_config(acoustic)
  with pytest.raises(UserError, match="export needs the vocoder"):
    export.export_stage(saved, acoustic, str(tmp_path / "none"))
  saved.stage1.workdir = str(trained / "vocoder")
  export.export_stage(saved, acoustic, str(tmp_path / "export"))
  sampler = exported.load(str(tmp_path / "export"))
  phonemes = sampler.manifest["domain"]["phonemes"]
  assert phonemes["symbols"][:2] == ["<pad>", " "] and phonemes["symbol_table_version"] == 1
  stage, params, model_state, _ = loop.restore_for_inference(saved, acoustic)
  batch = stage.text_inputs("Hello there, 21 cats.", voice=1)
  mel, num_frames = jax.jit(stage.synthesize)(params, model_state, batch)
  expected = stage.stage1.decode(mel)
  out = sampler(**batch)
  assert out["num_samples"][0] == int(num_frames[0]) * 256 > 0
  np.testing.assert_allclose(out["waveform"], np.asarray(expected), rtol=0, atol=1e-5)
  with pytest.raises(exported.ExportError, match="'voice' takes values in"):
    sampler(**{**batch, "voice": np.array([99], np.int32)})


# The HiFi-GAN-style generator is not the default and takes 3x as long to fit.
@pytest.mark.parametrize("generator", marking_slow(["hifigan", "spectral"], slow={"hifigan"}))
def test_each_generator_makes_hop_samples_per_frame_and_fits_a_chirp(generator):
  vocoder_config = config(VOCODER)
  vocoder_config.gan.generator = generator
  mel_config = mel_lib.MelConfig.from_config(vocoder_config.mel)
  gan = vocoder.WaveformGAN(vocoder_config.gan, mel_config, jnp.float32, mel_input=True)
  t = np.arange(16 * mel_config.hop_length) / mel_config.sample_rate
  audio = jnp.asarray(0.5 * np.sin(2 * np.pi * (200 + 400 * t) * t), jnp.float32)[None]
  features = mel_lib.mel_spectrogram(audio, mel_config)
  params = gan.init(jax.random.key(0), features)
  assert gan.generate(params["generator"], features).shape == audio.shape
  tx = optax.adam(3e-3)
  loss = lambda p: gan.loss({**params, "generator": p}, features, audio, adversarial=False)[0]

  @jax.jit
  def step(generator, opt_state):
    value, grads = jax.value_and_grad(loss)(generator)
    updates, opt_state = tx.update(grads, opt_state)
    return value, optax.apply_updates(generator, updates), opt_state

  generator, opt_state, losses = params["generator"], tx.init(params["generator"]), []
  for _ in range(30):
    value, generator, opt_state = step(generator, opt_state)
    losses.append(float(value))
  assert losses[-1] < 0.7 * losses[0]


def test_unknown_generator_is_a_clear_error():
  gan = config(VOCODER).gan
  gan.generator = "wavenet"
  with pytest.raises(UserError, match="'hifigan' or 'spectral'"):
    vocoder.WaveformGAN(gan, mel_lib.MelConfig(), jnp.float32, mel_input=True)
  gan.generator = "hifigan"
  hifigan = vocoder.WaveformGAN(gan, mel_lib.MelConfig(), jnp.float32, mel_input=True)
  assert isinstance(hifigan.generator, vocoder_models.Generator)


@pytest.mark.parametrize("frequency_in_bins", [37.0, 37.3])
def test_peak_locked_phase_is_the_phase_of_a_sinusoid_in_every_bin_of_its_peak(frequency_in_bins):
  cfg = mel_lib.MelConfig()
  frames, lobe = 24, slice(36, 39)  # the Hann main lobe of either frequency
  n = np.arange(frames * cfg.hop_length)
  sinusoid = np.cos(2 * np.pi * frequency_in_bins * n / cfg.n_fft).astype(np.float32)
  spectrum = np.asarray(mel_lib.stft(sinusoid, cfg))[2:-2]  # no edge frames
  rule = np.asarray(vocoder_models.peak_locked_phase(np.abs(spectrum), cfg))
  turn = np.angle(spectrum[:, lobe] * np.exp(-1j * rule[:, lobe]))  # recording - rule
  wrapped = lambda x: np.angle(np.exp(1j * x))
  np.testing.assert_allclose(wrapped(turn - turn[:, :1]), 0, atol=1e-3)  # one phase per lobe
  # Advancing as the sinusoid does, up to the parabola's bias off the bin centres (< 0.02 bins).
  np.testing.assert_allclose(wrapped(np.diff(turn[:, 0])), 0, atol=0.03)


def test_peak_locked_phase_gives_each_bin_its_nearest_peaks_phase():
  cfg = mel_lib.MelConfig(n_fft=16, hop_length=2, win_length=16, n_mels=4)
  profile = [0.1, 0.5, 1.0, 0.5, 0.2, 0.5, 2.0, 0.5, 0.1]  # peaks at bins 2 and 6
  magnitude = np.tile(np.float32(profile), (3, 1))
  centred = np.asarray(vocoder_models.peak_locked_phase(magnitude, cfg)) - np.pi * np.arange(9)
  same = lambda a, b: np.allclose(np.cos(a - b), 1, atol=1e-5)
  assert all(same(centred[:, k], centred[:, 2]) for k in range(0, 5))  # 4: a tie, the lower
  assert all(same(centred[:, k], centred[:, 6]) for k in range(5, 9))
  # Each hop advances a peak's phase by 2 pi * its frequency in bins * hop / n_fft.
  assert same(centred[1, 2] - centred[0, 2], np.pi / 2)
  assert same(centred[2, 6] - centred[1, 6], 3 * np.pi / 2)


def test_spectral_vocoder_starts_from_the_mel_pseudo_inverse():
  vocoder_config = config(VOCODER)
  vocoder_config.gan.generator = "spectral"
  mel_config = mel_lib.MelConfig.from_config(vocoder_config.mel)
  gan = vocoder.WaveformGAN(vocoder_config.gan, mel_config, jnp.float32, mel_input=True)
  log_mel = jax.random.normal(jax.random.key(1), (2, 12, mel_config.n_mels)) - 3.0
  params = gan.init(jax.random.key(0), log_mel)
  magnitude = np.maximum(mel_lib.pseudo_inverse_magnitude(log_mel, mel_config),
                         mel_config.log_floor)
  phase = vocoder_models.peak_locked_phase(magnitude, mel_config)
  expected = mel_lib.inverse_stft(magnitude * np.exp(1j * phase), mel_config)
  np.testing.assert_allclose(gan.generate(params["generator"], log_mel), expected, atol=1e-5)
