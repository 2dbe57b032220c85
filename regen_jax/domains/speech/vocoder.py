"""Speech synthesis, stage Y′ -> Y trained on Y alone: the GAN vocoder, mel frames -> waveform.

A Vocos-style spectral generator (default) or a HiFi-GAN-style one, with HiFi-GAN's multi-period
and multi-scale discriminators (`vocoder_models`). The GAN has two players with their own
optimizers (`config.optimizers`): the generator and the discriminators, each a top-level param
tree of one train state. Both are updated from one backward pass: each player's loss sees the
other player's values through stop_gradient. Training uses random windows of `segment_frames`
frames; evaluation vocodes whole held-out utterances and scores the mel of the result against the
original (resynthesis mel L1).

Trained, the vocoder provides `MelAbstraction`: the mel rule one way, the vocoder the other (the
acoustic model's stage 1). `config.finetune_on.workdir`, a trained acoustic model, trains on its
teacher-forced predicted mels instead of the recordings' (computed once when the data is read,
never stored in this stage's checkpoints), so the vocoder learns the acoustic model's smoothing.
"""

import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from regen_jax.abstractions import mel as mel_lib
from regen_jax.data import pipeline
from regen_jax.domains.speech import audio as audio_io
from regen_jax.domains.speech import vocoder_models
from regen_jax.domains.speech.utterances import (SpeechData, concatenated, padded_chunks,
                                                 score_mels, to_float)
from regen_jax.errors import UserError
from regen_jax.priors.frames import frame_mask
from regen_jax.stages import pairing
from regen_jax.stages.abstraction import Abstraction, AbstractionStage, weights_fingerprint
from regen_jax.stages.specs import FrameSpec, rule_fingerprint

_SHOWN = 4  # held-out resyntheses written as WAV at each evaluation


def random_windows(rng, features, audio, num_frames, window: int, hop: int):
  """Aligned random windows: `window` frames of features and window * hop samples of audio."""
  limit = jnp.maximum(num_frames - window, 0)
  starts = jax.random.randint(rng, num_frames.shape, 0, jnp.iinfo(jnp.int32).max) % (limit + 1)
  crop = lambda x, start, size: jax.lax.dynamic_slice_in_dim(x, start, size, axis=0)
  return (jax.vmap(lambda f, s: crop(f, s, window))(features, starts),
          jax.vmap(lambda a, s: crop(a, s * hop, window * hop))(audio, starts))


class WaveformGAN:
  """Generator + discriminators + losses for frame features -> waveform (vocoder and direct)."""

  def __init__(self, gan, mel_config: mel_lib.MelConfig, dtype, mel_input: bool):
    """`mel_input`: the features are log-mels of `mel_config` (the vocoder), not learned states."""
    self.gan, self.mel_config = gan, mel_config
    self.generator = self._generator(gan, mel_config, dtype, mel_input)
    self.discriminators = vocoder_models.Discriminators(tuple(gan.periods), gan.num_scales,
                                                     tuple(gan.period_channels),
                                                     tuple(gan.scale_channels), dtype)

  @staticmethod
  def _generator(gan, mel_config, dtype, mel_input) -> nn.Module:
    kind = gan.generator
    if kind == "spectral":
      return vocoder_models.SpectralGenerator(gan.spectral_channels, gan.spectral_depth, mel_config,
                                           mel_input, dtype)
    if kind != "hifigan":
      raise UserError(f"unknown gan.generator {kind!r}: use 'hifigan' or 'spectral'")
    if int(np.prod(gan.upsample_rates)) != mel_config.hop_length:
      raise UserError(f"the generator upsamples by {int(np.prod(gan.upsample_rates))} "
                      f"(gan.upsample_rates={tuple(gan.upsample_rates)}), but mel frames are "
                      f"{mel_config.hop_length} samples apart (mel.hop_length)")
    return vocoder_models.Generator(gan.generator_channels, tuple(gan.upsample_rates),
                                 tuple(gan.resblock_kernels), tuple(gan.resblock_dilations), dtype)

  def init(self, rng, features) -> dict:
    window = features[:, :self.gan.segment_frames]
    gen_rng, disc_rng = jax.random.split(rng)
    generator = self.generator.init(gen_rng, window)["params"]
    audio = self.generator.apply({"params": generator}, window)
    return {"generator": generator,
            "discriminator": self.discriminators.init(disc_rng, audio)["params"]}

  def generate(self, generator_params, features):
    return self.generator.apply({"params": generator_params}, features)

  def _adversarial(self, params, fake, audio):
    """Both players' GAN terms; each sees the other's values through stop_gradient."""
    disc = lambda p, x: self.discriminators.apply({"params": p}, x)
    real_outputs = disc(params["discriminator"], audio)
    fake_for_discriminator = disc(params["discriminator"], jax.lax.stop_gradient(fake))
    fake_for_generator = disc(jax.lax.stop_gradient(params["discriminator"]), fake)
    discriminator = vocoder_models.discriminator_loss(real_outputs, fake_for_discriminator)
    adversarial, matching = vocoder_models.generator_losses(real_outputs, fake_for_generator)
    loss = adversarial + self.gan.feature_matching_weight * matching + discriminator
    return loss, {"generator_adv": adversarial, "feature_matching": matching,
                  "discriminator": discriminator}

  def adversarial_phase(self, step: int) -> bool:
    return step >= self.gan.adversarial_start_step

  def loss(self, params, features, audio, adversarial: bool):
    """Mel L1 (+ GAN and feature matching when `adversarial`) on aligned windows: features
    (B, W, C), audio (B, W*hop). Without `adversarial` the discriminators are not run at all,
    so the generator's mel-L1 warm-up costs about half a GAN step."""
    fake = self.generate(params["generator"], features)
    mel_l1 = jnp.mean(jnp.abs(mel_lib.mel_spectrogram(fake, self.mel_config)
                              - mel_lib.mel_spectrogram(audio, self.mel_config)))
    if adversarial:
      terms, metrics = self._adversarial(params, fake, audio)
    else:
      terms, metrics = 0.0, dict.fromkeys(
          ("generator_adv", "feature_matching", "discriminator"), jnp.zeros(()))
    return self.gan.mel_weight * mel_l1 + terms, {"mel_l1": mel_l1, **metrics}


def resynthesis_l1(log_mel, generated_audio, num_frames, mel_config):
  """Per-utterance mean |mel(generated) - log_mel| over each utterance's real frames."""
  mask = frame_mask(num_frames, log_mel.shape[1])[..., None]
  error = jnp.abs(mel_lib.mel_spectrogram(generated_audio, mel_config) - log_mel) * mask
  return error.sum((1, 2)) / (mask.sum((1, 2)) * log_mel.shape[-1])


class MelAbstraction(Abstraction):
  """Waveforms <-> log-mel frames: the mel rule (`abstractions.mel`) one way; a trained vocoder
  the other, or without one Griffin-Lim (32 iterations restoring the mel). The fingerprint is
  the rule's settings: whichever decoder, Y′ is the same."""

  def __init__(self, mel_config: mel_lib.MelConfig, gan=None, generator_params=None):
    self.mel_config, self._gan, self._generator_params = mel_config, gan, generator_params
    self.trained = gan is not None
    self.spec = FrameSpec(features=mel_config.n_mels, settings=mel_config, name="mel")
    self.fingerprint = rule_fingerprint(self.spec)
    self._decode = jax.jit(self.decoder()[0])

  def encode(self, waveform):
    return mel_lib.mel_spectrogram(waveform, self.mel_config)

  def decode(self, log_mel):
    return self._decode(self.decoder()[1], log_mel)

  def decoder(self):
    if not self.trained:
      return lambda weights, log_mel: mel_lib.griffin_lim(log_mel, self.mel_config), {}
    return (lambda weights, log_mel: self._gan.generate(weights["generator"], log_mel),
            {"generator": self._generator_params})


class Vocoder(SpeechData, AbstractionStage):
  progress_keys = ("mel_l1", "discriminator", "generator_adv")
  defining_keys = ("mel",)

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    self.gan = WaveformGAN(config.gan, self.mel_config, jnp.dtype(config.compute_dtype),
                           mel_input=True)
    self.acoustic = None
    if config.finetune_on.workdir:  # its own vocoder is not needed for its teacher-forced mels
      self.acoustic = pairing.restore_linked(config.finetune_on, "finetune_on",
                                             overrides={"stage1.workdir": ""})
      self._check_acoustic()
    self._vocode = jax.jit(self.vocode)
    self._input_mels = jax.jit(self.input_mel)
    self._resynthesize = jax.jit(lambda params, batch: self.vocode(params, self.log_mel(batch)))

  def _check_acoustic(self):
    acoustic = self.acoustic.stage
    mel_lib.check_same(acoustic.mel_config, self.mel_config,
                       f"the acoustic model in {self.config.finetune_on.workdir}")
    for key in ("max_frames", "max_phonemes"):
      if acoustic.config[key] != self.config[key]:
        raise UserError(f"the acoustic model in {self.config.finetune_on.workdir} has {key}="
                        f"{acoustic.config[key]}, this vocoder {self.config[key]}: set "
                        f"--config.{key}={acoustic.config[key]}")

  def prepare(self, arrays, texts):
    """With `finetune_on`, each utterance's teacher-forced mel of the acoustic model."""
    if self.acoustic is None:
      return arrays, texts
    stage, params, model_state, _ = self.acoustic
    teacher_forced = jax.jit(stage.teacher_forced)
    mels = pipeline.map_batches(lambda batch: teacher_forced(params, model_state, batch),
                                arrays, self.config.eval_batch_size)
    return {**arrays, "input_mel": mels}, texts

  def example_batch(self, batch_size):
    batch = super().example_batch(batch_size)
    if self.acoustic is not None:
      batch["input_mel"] = np.zeros((batch_size, self.config.max_frames,
                                     self.mel_config.n_mels), np.float32)
    return batch

  def trained_against(self):
    if self.acoustic is None:
      return {"input_mels": "recordings"}
    return {"input_mels": weights_fingerprint("acoustic", self.acoustic.step,
                                              self.acoustic.params)}

  def vocode(self, params, log_mel):
    return self.gan.generate(params["generator"], log_mel)

  def input_mel(self, batch):
    """The recordings' log-mel, or the acoustic model's under the true (MAS) durations."""
    return self.log_mel(batch) if self.acoustic is None else batch["input_mel"]

  # ---- the abstraction
  def abstraction(self, params, model_state, step):
    return MelAbstraction(self.mel_config, self.gan, params["generator"])

  def rule_abstraction(self):
    return MelAbstraction(self.mel_config)

  # ---- training
  def init(self, rng, batch):
    return self.gan.init(rng, self.input_mel(batch)), {}

  def phase(self, step):
    return self.gan.adversarial_phase(step)

  def loss(self, params, model_state, batch, rng, step, phase=True):
    del step
    features, audio = random_windows(rng, self.input_mel(batch), to_float(batch["audio"]),
                                     batch["num_frames"], self.config.gan.segment_frames,
                                     self.mel_config.hop_length)
    loss, metrics = self.gan.loss(params, features, audio, adversarial=phase)
    return loss, (metrics, model_state)

  def eval_metrics(self, params, model_state, batch):
    mask = batch["mask"]
    generated = self.vocode(params, self.input_mel(batch))
    l1 = resynthesis_l1(self.log_mel(batch), generated, batch["num_frames"], self.mel_config)
    return {"count": mask.sum(), "resynthesis_mel_l1": jnp.sum(mask * l1)}

  def summarize(self, sums):
    return {"resynthesis_mel_l1": sums["resynthesis_mel_l1"] / sums["count"]}

  def sample(self, params, model_state, path):
    """Resynthesis of the first held-out utterance (WAV) and the PNG of its input mel."""
    arrays = {k: v[:1] for k, v in self.eval_arrays.items()}
    log_mel = self._input_mels(arrays)
    length = int(arrays["num_frames"][0])
    wave = np.asarray(self._vocode(params, log_mel))[0, :length * self.mel_config.hop_length]
    return self.write_wav_and_mel(path, wave, np.asarray(log_mel)[0, :length])

  def on_eval(self, params, model_state, step, full=False):
    """Held-out WAVs; with `full`, on the same utterances: the resynthesis and classic
    Griffin-Lim's (32 iterations) DTW mel L1 and MCD, the intelligibility (ASR-WER) of both and
    of the recordings, and the real-time factor. (The mel-matching Griffin-Lim is no reference:
    it optimises the mel distance it would be scored on.)"""
    arrays = self.evaluated_arrays(full, _SHOWN)
    parts = [self._resynthesized(params, chunk, real, full) for chunk, real
             in padded_chunks(arrays, self.config.eval_batch_size)]
    out = concatenated(parts)
    for i in range(min(_SHOWN, len(out["vocoder"]))):
      length = arrays["num_frames"][i] * self.mel_config.hop_length
      audio_io.write_wav(self.output_path(f"resynthesis_{step:07d}_{i}.wav"),
                         out["vocoder"][i, :length], self.mel_config.sample_rate)
    if not full:
      return {}
    chunk = next(padded_chunks(arrays, self.config.eval_batch_size))[0]
    start = time.perf_counter()
    jax.block_until_ready(self._resynthesize(params, chunk))
    seconds = time.perf_counter() - start
    audio_seconds = chunk["audio"].size / self.mel_config.sample_rate  # padding is generated too
    scores = {"real_time_factor": seconds / audio_seconds, "times_real_time": audio_seconds / seconds}
    frames = arrays["num_frames"]
    for name in ("vocoder", "griffin_lim"):
      mels = np.asarray(self._mel_of_waves(out[name]))
      scores.update({f"{name}_{k}": v
                     for k, v in score_mels(mels, frames, out["reference"], frames).items()})
    for name, waves in (("vocoder", out["vocoder"]), ("griffin_lim", out["griffin_lim"]),
                        ("recordings", to_float(arrays["audio"]))):
      scores.update(self.intelligibility(name, step, waves, frames))
    return scores

  def _resynthesized(self, params, chunk, real: int, full: bool) -> dict:
    """The first `real` rows of one chunk: the vocoder's waveforms, and with `full` Griffin-Lim's
    and the recordings' mels."""
    out = {"vocoder": np.asarray(self._resynthesize(params, chunk))}
    if full:
      out["reference"] = np.asarray(self._log_mel(chunk))
      out["griffin_lim"] = np.asarray(mel_lib.griffin_lim(out["reference"], self.mel_config,
                                                          match="magnitude"))
    return {k: v[:real] for k, v in out.items()}
