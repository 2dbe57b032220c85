"""Speech synthesis: the aligner, length regulator, DTW, the corpus, and the stages via the CLI."""

import itertools
import json
import os
import subprocess
import sys
import wave

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.stats

from regen_jax import export, exported
from regen_jax.abstractions import mel as mel_lib
from regen_jax.data import pipeline, speech
from regen_jax.errors import UserError
from regen_jax.evaluate import audio as audio_io
from regen_jax.models import acoustic as acoustic_lib
from regen_jax.models import vocoder as vocoder_models
from regen_jax.tasks import acoustic, vocoder
from regen_jax.tasks.speech import phoneme_ids
from regen_jax.train import loop, optimizer
from tests.helpers import ROOT, cli, logged, marking_slow

DATASET = "regen_speech/tiny"


def _best_durations(log_lik, num_phonemes, num_frames):
  """Exhaustive search over every split of the frames into num_phonemes non-empty runs."""
  best, best_score = None, -np.inf
  for cuts in itertools.combinations(range(1, num_frames), num_phonemes - 1):
    bounds = (0, *cuts, num_frames)
    score = sum(log_lik[i, bounds[i]:bounds[i + 1]].sum() for i in range(num_phonemes))
    if score > best_score:
      best, best_score = np.diff(bounds), score
  return best


def test_monotonic_alignment_search_finds_the_best_path():
  rng = np.random.default_rng(0)
  lengths = [(1, 4), (3, 3), (3, 7), (4, 9), (2, 9)]
  log_lik = rng.normal(size=(len(lengths), 4, 9)).astype(np.float32)
  durations = np.asarray(acoustic_lib.monotonic_alignment(
      jnp.asarray(log_lik), jnp.array([p for p, _ in lengths]), jnp.array([f for _, f in lengths])))
  for row, (num_phonemes, num_frames) in enumerate(lengths):
    expected = _best_durations(log_lik[row], num_phonemes, num_frames)
    np.testing.assert_array_equal(durations[row, :num_phonemes], expected)
    assert durations[row, num_phonemes:].sum() == 0


def test_diagonal_prior_is_the_beta_binomial_of_each_frame():
  num_phonemes, num_frames = 5, 9
  log_prior = np.asarray(acoustic_lib.diagonal_log_prior(
      jnp.array([num_phonemes]), jnp.array([num_frames]), 7, 11))[0]
  expected = [[scipy.stats.betabinom(num_phonemes - 1, j, num_frames + 1 - j).logpmf(k)
               for j in range(1, num_frames + 1)] for k in range(num_phonemes)]
  np.testing.assert_allclose(log_prior[:num_phonemes, :num_frames], expected, atol=1e-4)
  assert np.all(log_prior[num_phonemes:] < -1e8)  # padding phonemes are unreachable


def test_length_regulator_repeats_each_state_for_its_duration():
  states = jnp.arange(3, dtype=jnp.float32)[None, :, None] + 1  # states 1, 2, 3
  frames, lengths = acoustic_lib.length_regulate(states, jnp.array([[2, 1, 3]]), max_frames=8)
  np.testing.assert_array_equal(np.asarray(frames)[0, :, 0], [1, 1, 2, 3, 3, 3, 0, 0])
  assert int(lengths[0]) == 6
  durations = acoustic_lib.predicted_durations(jnp.array([[-5.0, 0.7, 2.0]]), jnp.array([2]))
  np.testing.assert_array_equal(np.asarray(durations), [[1, 2, 0]])  # >= 1 frame, padding 0


def test_dtw_path_has_the_minimum_cost():
  cost = np.random.default_rng(1).uniform(size=(6, 8))
  total = np.full((7, 9), np.inf)
  total[0, 0] = 0
  for i, j in itertools.product(range(1, 7), range(1, 9)):
    total[i, j] = cost[i - 1, j - 1] + min(total[i - 1, j], total[i, j - 1], total[i - 1, j - 1])
  rows, cols = audio_io.dtw_path(cost)
  assert (rows[0], cols[0], rows[-1], cols[-1]) == (0, 0, 5, 7)
  assert np.all(np.diff(rows) >= 0) and np.all(np.diff(cols) >= 0)
  assert np.isclose(cost[rows, cols].sum(), total[-1, -1])


def test_mel_distances_vanish_only_for_equal_mels():
  mel = np.random.default_rng(2).normal(size=(30, 80))
  assert audio_io.compare_mels(mel, mel) == {"mel_l1": 0.0, "mcd": 0.0}
  slower = np.repeat(mel, 2, axis=0)  # the same content at half speed: DTW aligns it exactly
  assert audio_io.compare_mels(slower, mel)["mcd"] == pytest.approx(0.0, abs=1e-9)
  other = audio_io.compare_mels(mel + 0.5, mel)
  assert other["mel_l1"] == pytest.approx(0.5) and other["mcd"] > 0


def test_corpus_splits_by_sentence_and_holds_out_a_voice(speech_data_dir):
  splits = {name: pipeline.read_split(DATASET, name, speech_data_dir)
            for name in ("train", "validation", "test", "test_voice")}
  texts = {name: [r["text"].decode() for r in records] for name, records in splits.items()}
  assert len(texts["train"]) == 48 and len(texts["validation"]) == 8
  assert not set(texts["train"]) & (set(texts["validation"]) | set(texts["test"]))
  assert sorted(texts["test_voice"]) == sorted(texts["test"])
  held_out = speech.VOICES.index(speech.HELD_OUT_VOICE)
  assert all(r["voice"] == held_out for r in splits["test_voice"])
  assert all(r["voice"] != held_out for name in ("train", "validation", "test")
             for r in splits[name])
  assert {r["voice"] for r in splits["train"]} == set(range(len(speech.TRAIN_VOICES)))
  assert all(len(r["audio"]) > speech.SAMPLE_RATE // 2 and r["espeak_phonemes"]
             for r in splits["train"])


def test_speech_arrays_are_padded_utterances_with_their_phonemes(speech_data_dir):
  task = acoustic.Task(acoustic.default_config(test=True), None)
  arrays, texts = task.eval_arrays, task.eval_texts
  hop = task.mel_config.hop_length
  assert arrays["audio"].shape == (len(texts), task.config.max_frames * hop)
  for i, text in enumerate(texts):
    ids = arrays["phonemes"][i, :arrays["num_phonemes"][i]]
    np.testing.assert_array_equal(ids, phoneme_ids(text))
    assert not arrays["phonemes"][i, len(ids):].any()
    assert not arrays["audio"][i, arrays["num_frames"][i] * hop:].any()
  with pytest.raises(UserError, match="empty"):
    task.text_inputs("  ")
  with pytest.raises(UserError, match="max_phonemes"):
    task.text_inputs("hello " * 80)


def test_each_param_tree_in_config_optimizers_gets_its_own_optimizer():
  config = vocoder.default_config(test=True)
  params = {"generator": jnp.ones(3), "discriminator": jnp.ones(2)}
  tx = optimizer.make(config)
  state = tx.init(params)
  grads = {"generator": jnp.ones(3), "discriminator": jnp.zeros(2)}
  for _ in range(config.optimizer.warmup_steps + 1):  # past the warm-up's zero learning rate
    updates, state = tx.update(grads, state, params)
  assert np.all(np.asarray(updates["discriminator"]) == 0)  # its own moments: untouched
  assert np.all(np.asarray(updates["generator"]) < 0)
  assert set(state.inner_states) == {"default", "generator", "discriminator"}
  config.optimizers = {"critic": {"learning_rate": 1e-4}}
  with pytest.raises(UserError, match="critic"):
    optimizer.make(config).init(params)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, speech_data_dir):
  root = tmp_path_factory.mktemp("tts")
  cli("train", "tts_acoustic.py:test", root / "acoustic", "--config.num_steps=40")
  cli("train", "tts_vocoder.py:test", root / "vocoder")
  return root


def test_acoustic_model_learns(trained):
  mel_l1 = [row["mel_l1"] for row in logged(trained / "acoustic") if "mel_l1" in row]
  prior = [row["prior"] for row in logged(trained / "acoustic") if "prior" in row]
  assert mel_l1[-1] < 0.8 * mel_l1[0] and prior[-1] < prior[0]


def test_sample_speaks_text_through_the_vocoder(trained, tmp_path):
  out = tmp_path / "hello.wav"
  result = cli("sample", "tts_acoustic.py:test", trained / "acoustic", "--text",
               "Hello world, 21 cats.", f"--config.vocoder_workdir={trained / 'vocoder'}",
               f"--output={out}")
  assert f"wrote {out}" in result.stdout
  with wave.open(str(out)) as f:
    assert f.getframerate() == 22050 and f.getnframes() > 0 and f.getnframes() % 256 == 0
  assert (tmp_path / "hello.png").stat().st_size > 0


def test_bad_text_and_mismatched_vocoder_are_clear_errors(trained, tmp_path):
  empty = cli("sample", "tts_acoustic.py:test", trained / "acoustic", "--text", " ", check=False)
  assert empty.returncode == 2 and "empty" in empty.stderr and "Traceback" not in empty.stderr
  odd = cli("sample", "tts_acoustic.py:test", trained / "acoustic", "--text", "a # b", check=False)
  assert odd.returncode == 2 and "'#'" in odd.stderr
  other = tmp_path / "vocoder_40_mels"
  other.mkdir()
  config = json.loads((trained / "vocoder" / "config.json").read_text())
  config["mel"]["n_mels"] = 40
  (other / "config.json").write_text(json.dumps(config))
  paired = cli("sample", "tts_acoustic.py:test", trained / "acoustic", "--text", "Hi.",
               f"--config.vocoder_workdir={other}", check=False)
  assert paired.returncode == 2 and "n_mels: 40 vs 80" in paired.stderr


def test_vocoder_evaluation_reports_resynthesis_griffin_lim_and_speed(trained):
  result = cli("evaluate", "tts_vocoder.py:test", trained / "vocoder")
  summary = json.loads(result.stdout.strip().splitlines()[-1])
  assert summary["resynthesis_mel_l1"] > 0
  assert 0 < summary["griffin_lim_mel_matching_mel_l1"] < summary["griffin_lim_mel_l1"]
  assert summary["times_real_time"] > 0
  assert len(list((trained / "vocoder" / "samples").glob("resynthesis_*.wav"))) >= 4


def test_checkpoint_of_other_layer_shapes_is_refused_in_one_line(trained):
  # What a checkpoint written before a change to the model's layers looks like to new code.
  result = cli("evaluate", "tts_vocoder.py:test", trained / "vocoder",
               "--config.gan.spectral_channels=16", check=False)
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert "written by another version of this model" in result.stderr
  assert "stored (32,), model (16,)" in result.stderr


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


def test_vocoder_fine_tunes_on_predicted_mels(trained, tmp_path):
  cli("train", "tts_vocoder.py:test", tmp_path / "finetuned", "--config.num_steps=4",
      f"--config.acoustic_workdir={trained / 'acoustic'}")
  assert all(np.isfinite(row["mel_l1"]) for row in logged(tmp_path / "finetuned")
             if "mel_l1" in row)


def test_direct_baseline_trains_evaluates_and_speaks(trained, tmp_path):
  workdir = tmp_path / "direct"
  cli("train", "tts_direct.py:test", workdir, "--config.num_steps=10")
  summary = json.loads(cli("evaluate", "tts_direct.py:test", workdir).stdout.splitlines()[-1])
  assert summary["mcd"] > 0 and summary["teacher_forced_mel_l1"] > 0
  out = tmp_path / "direct.wav"
  cli("sample", "tts_direct.py:test", workdir, "--text", "Good morning.", f"--output={out}")
  with wave.open(str(out)) as f:
    assert f.getnframes() > 0


def test_export_reproduces_phonemes_to_waveform(trained, tmp_path):
  acoustic = str(trained / "acoustic")
  config = loop.saved_config(acoustic)
  with pytest.raises(UserError, match="export needs the vocoder"):
    loop.build_task(config, acoustic).export_sampler(None, None)
  config.vocoder_workdir = str(trained / "vocoder")
  export.export_stage(config, acoustic, str(tmp_path / "export"))
  sampler = exported.load(str(tmp_path / "export"))
  phonemes = sampler.manifest["domain"]["phonemes"]
  assert phonemes["symbols"][:2] == ["<pad>", " "] and phonemes["symbol_table_version"] == 1
  task, params, model_state, _ = loop.restore_for_inference(config, acoustic)
  batch = task.text_inputs("Hello there, 21 cats.", voice=1)
  mel, num_frames = jax.jit(task.synthesize)(params, model_state, batch)
  expected = jax.jit(task.vocoder.task.vocode)(task.vocoder.params, mel)
  out = sampler(**batch)
  assert out["num_samples"][0] == int(num_frames[0]) * 256 > 0
  np.testing.assert_allclose(out["waveform"], np.asarray(expected), rtol=0, atol=1e-5)


# The HiFi-GAN-style generator is not the default and takes 3x as long to fit.
@pytest.mark.parametrize("generator", marking_slow(["hifigan", "spectral"], slow={"hifigan"}))
def test_each_generator_makes_hop_samples_per_frame_and_fits_a_chirp(generator):
  config = vocoder.default_config(test=True)
  config.gan.generator = generator
  mel_config = mel_lib.MelConfig.from_config(config.mel)
  gan = vocoder.WaveformGAN(config.gan, mel_config, jnp.float32, mel_input=True)
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


def test_unknown_generator_is_a_clear_error_and_an_older_checkpoint_is_hifigan():
  config = vocoder.default_config(test=True)
  config.gan.generator = "wavenet"
  with pytest.raises(UserError, match="'hifigan' or 'spectral'"):
    vocoder.WaveformGAN(config.gan, mel_lib.MelConfig(), jnp.float32, mel_input=True)
  del config.gan["generator"]  # the config.json of a vocoder trained before the option
  gan = vocoder.WaveformGAN(config.gan, mel_lib.MelConfig(), jnp.float32, mel_input=True)
  assert isinstance(gan.generator, vocoder_models.Generator)


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
  config = vocoder.default_config(test=True)
  config.gan.generator = "spectral"
  mel_config = mel_lib.MelConfig.from_config(config.mel)
  gan = vocoder.WaveformGAN(config.gan, mel_config, jnp.float32, mel_input=True)
  log_mel = jax.random.normal(jax.random.key(1), (2, 12, mel_config.n_mels)) - 3.0
  params = gan.init(jax.random.key(0), log_mel)
  magnitude = np.maximum(mel_lib.pseudo_inverse_magnitude(log_mel, mel_config),
                         mel_config.log_floor)
  phase = vocoder_models.peak_locked_phase(magnitude, mel_config)
  expected = mel_lib.inverse_stft(magnitude * np.exp(1j * phase), mel_config)
  np.testing.assert_allclose(gan.generate(params["generator"], log_mel), expected, atol=1e-5)
