"""Where the vocoder's resynthesis error comes from: mel L1 of waveforms rebuilt from held-out
mels with magnitudes and phases of known quality.

  python experiments/vocoder_phase_oracles.py [--split test] [--utterances 50]
      [--vocoder_workdir runs/tts/vocoder] [--test] [--out FILE]

Each row inverse-STFTs a magnitude (the mel filterbank's pseudo-inverse, which is all a mel
gives without learning, or the recording's own, an oracle) with a phase: the recording's; the
spectral generator's rule, peak-locked phases of that magnitude (with the pseudo-inverse: the
untrained vocoder); the rule before it, sinusoids at each bin's centre frequency with random
offsets; random. Then both Griffin-Lim variants and, with --vocoder_workdir, a trained vocoder.
It prints one JSON object: resynthesis mel L1 (natural-log mel, the vocoder's evaluation metric)
over all bands and over the 40 lowest (below ~1.1 kHz, where voiced harmonics are resolved).
"""

import argparse
import json
import os
import platform
import sys

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags

from regen_jax.abstractions import mel as mel_lib
from regen_jax.core import config as config_lib
from regen_jax.domains.speech import vocoder_models
from regen_jax.domains.speech.utterances import to_float
from regen_jax.domains.speech.vocoder import Vocoder
from regen_jax.stages import pairing

CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs",
                      "tts", "vocoder.py")

LOW_BANDS = 40


def utterances(split: str, count: int, test: bool):
  config = config_lib.load(CONFIG, "test" if test else "")
  config.eval_split = split
  stage = Vocoder(config, workdir=None)
  arrays = {k: v[:count] for k, v in stage.eval_arrays.items()}
  return stage.mel_config, np.asarray(jax.jit(stage.log_mel)(arrays)), arrays


def scores(log_mel, waveform, num_frames, cfg) -> dict[str, float]:
  """Mean over utterances of each one's mean |mel error| over its real frames (the vocoder's
  evaluation metric), over all bands and over the LOW_BANDS lowest."""
  error = np.abs(np.asarray(mel_lib.mel_spectrogram(waveform, cfg)) - log_mel)
  real = (np.arange(log_mel.shape[1])[None] < num_frames[:, None])[..., None]

  def mean_l1(bands: int) -> float:
    per_utterance = (error[..., :bands] * real).sum((1, 2)) / (num_frames * bands)
    return round(float(per_utterance.mean()), 4)

  return {"all_bands": mean_l1(log_mel.shape[-1]), "low_bands": mean_l1(LOW_BANDS)}


def independent_bin_phase(num_frames: int, cfg) -> np.ndarray:
  """(frames, bins) phases of sinusoids at the bins' centre frequencies with fixed random offsets:
  the spectral generator's rule before `peak_locked_phase`."""
  bins = np.arange(cfg.n_fft // 2 + 1)
  advance = np.outer(np.arange(num_frames), bins * cfg.hop_length) % cfg.n_fft
  offsets = np.random.default_rng(0).uniform(0, 2 * np.pi, bins.size)
  return 2 * np.pi * advance / cfg.n_fft + offsets


def oracle_waveforms(cfg, log_mel, audio):
  """{row name: waveform} of magnitude x phase combinations."""
  spectrum = np.asarray(mel_lib.stft(audio, cfg))
  random = np.random.default_rng(0).uniform(0, 2 * np.pi, spectrum.shape)
  magnitudes = {"pseudo_inverse": np.asarray(mel_lib.pseudo_inverse_magnitude(log_mel, cfg)),
                "recording": np.abs(spectrum)}
  phases = {"recording": lambda _: np.angle(spectrum),
            "peak_locked": lambda magnitude: np.asarray(jax.jit(
                vocoder_models.peak_locked_phase, static_argnums=1)(magnitude, cfg)),
            "independent_bins": lambda _: independent_bin_phase(log_mel.shape[1], cfg),
            "random": lambda _: random}
  return {f"{m}_magnitude+{p}_phase":
          mel_lib.inverse_stft(magnitude * np.exp(1j * phase_of(magnitude)), cfg)
          for m, magnitude in magnitudes.items() for p, phase_of in phases.items()}


def main(args):
  cfg, log_mel, arrays = utterances(args.split, args.utterances, args.test)
  num_frames = arrays["num_frames"]
  audio = np.asarray(to_float(jnp.asarray(arrays["audio"])))
  rows = oracle_waveforms(cfg, log_mel, audio)
  for match in mel_lib.GRIFFIN_LIM_MATCHES:
    for iterations in (8, 32):
      rows[f"griffin_lim_{match}_{iterations}"] = mel_lib.griffin_lim(
          jnp.asarray(log_mel), cfg, iterations, match=match)
  if args.vocoder_workdir:
    trained = pairing.restore_workdir(args.vocoder_workdir, "the vocoder (configs/tts/vocoder.py)")
    rows["trained_vocoder"] = jax.jit(trained.stage.vocode)(trained.params, jnp.asarray(log_mel))
  result = {
      "command": "python experiments/vocoder_phase_oracles.py " + " ".join(sys.argv[1:]),
      "device": f"{jax.devices()[0].device_kind} ({platform.machine()})",
      "jax": jax.__version__,
      "split": args.split,
      "utterances": int(len(num_frames)),
      "mel_l1": {name: scores(log_mel, wave, num_frames, cfg) for name, wave in rows.items()},
  }
  text = json.dumps(result, indent=2)
  if args.out:
    with open(args.out, "w") as f:
      f.write(text + "\n")
  print(text)


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--split", default="test")
  parser.add_argument("--utterances", type=int, default=50)
  parser.add_argument("--vocoder_workdir", default="")
  parser.add_argument("--test", action="store_true", help="the tiny corpus (a smoke run)")
  parser.add_argument("--out", default="")
  flags.FLAGS.mark_as_parsed()  # grain workers read absl flags
  main(parser.parse_args())
