"""Speech stage Y' -> Y, trained on Y alone: GAN vocoder, mel frames -> waveform.

A Vocos-style spectral generator (default) or a HiFi-GAN-style one, with HiFi-GAN's multi-period
and multi-scale discriminators.

The GAN has two players with their own optimizers (`config.optimizers`): the generator and the
discriminators, each a top-level param tree of one train state. Both are updated from one
backward pass: each player's loss sees the other player's values through stop_gradient.
Training uses random windows of `segment_frames` frames; evaluation vocodes whole held-out
utterances and scores the mel of the result against the original (resynthesis mel L1).
`acoustic_workdir` fine-tunes on the acoustic model's teacher-forced predicted mels instead of
the true ones, so the vocoder learns the acoustic model's smoothing.
"""

import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from regen_jax.abstractions import mel as mel_lib
from regen_jax.errors import UserError
from regen_jax.evaluate import audio as audio_io
from regen_jax.models import vocoder as vocoder_lib
from regen_jax.tasks import speech
from regen_jax.tasks.speech import SpeechTask, frame_mask


def gan_config(test: bool) -> ml_collections.ConfigDict:
  """Generator, discriminators and GAN losses; shared with the direct baseline."""
  gan = ml_collections.ConfigDict()
  # "spectral": Vocos-style frame-rate ConvNeXt predicting STFT magnitude and phase around
  # rule-based priors; "hifigan": transposed-conv upsampling at the sample rate. At the CPU demo
  # budget the spectral one learns far faster and runs faster (README, speech synthesis).
  gan.generator = "spectral"
  gan.generator_channels = 16 if test else 64  # HiFi-GAN V2 has 128: 1.7x the CPU time
  gan.upsample_rates = (8, 8, 2, 2)  # product = the mel hop length
  gan.resblock_kernels = (3,) if test else (3, 7, 11)
  gan.resblock_dilations = (1, 3) if test else (1, 3, 5)
  gan.spectral_channels = 32 if test else 256  # Vocos base: 512 channels, depth 8
  gan.spectral_depth = 2 if test else 8
  gan.periods = (2, 3) if test else (2, 3, 5, 7, 11)
  gan.num_scales = 1 if test else 3
  gan.period_channels = (4, 8) if test else (16, 32, 64, 128)
  gan.scale_channels = (4, 8, 8) if test else (16, 32, 64, 128, 128)
  gan.segment_frames = 16 if test else 32
  gan.mel_weight = 45.0
  gan.feature_matching_weight = 2.0
  # Mel-L1 warm-up of the generator alone (half the cost of a GAN step), then the full GAN.
  gan.adversarial_start_step = 2 if test else 450
  return gan


def gan_optimizers(config):
  """HiFi-GAN's Adam betas; each player its own optimizer state and gradient clipping."""
  config.optimizer.b1, config.optimizer.b2 = 0.8, 0.99
  config.optimizer.weight_decay = 0.0
  config.optimizer.grad_clip_norm = 10.0
  rate = config.optimizer.learning_rate
  config.optimizers = ml_collections.ConfigDict({"discriminator": {"learning_rate": rate},
                                                 "generator": {"learning_rate": rate}})


def default_config(test: bool) -> ml_collections.ConfigDict:
  config = speech.base_config(test)
  config.task = "vocoder"
  config.num_steps = 20 if test else 600  # ≈ 3 min on 2 CPU cores
  config.batch_size = 4 if test else 8
  config.eval_every = 10 if test else 600
  config.checkpoint_every = 10 if test else 250
  config.optimizer.learning_rate = 1e-3
  config.optimizer.warmup_steps = 2 if test else 50
  gan_optimizers(config)  # after the learning rate: each player starts from it
  config.gan = gan_config(test)
  config.acoustic_workdir = ""  # a trained acoustic model: fine-tune on its predicted mels
  return config


def random_windows(rng, features, audio, num_frames, window: int, hop: int):
  """Aligned random windows: `window` frames of features and window * hop samples of audio."""
  limit = jnp.maximum(num_frames - window, 0)
  starts = jax.random.randint(rng, num_frames.shape, 0, jnp.iinfo(jnp.int32).max) % (limit + 1)
  crop = lambda x, start, size: jax.lax.dynamic_slice_in_dim(x, start, size, axis=0)
  return (jax.vmap(lambda f, s: crop(f, s, window))(features, starts),
          jax.vmap(lambda a, s: crop(a, s * hop, window * hop))(audio, starts))


def generator_kind(gan) -> str:
  """`gan.generator`; configs saved before the option had only the HiFi-GAN-style one."""
  return gan.get("generator", "hifigan")


class WaveformGAN:
  """Generator + discriminators + losses for frame features -> waveform (vocoder and direct)."""

  def __init__(self, gan, mel_config: mel_lib.MelConfig, dtype, mel_input: bool):
    """`mel_input`: the features are log-mels of `mel_config` (the vocoder), not learned states."""
    self.gan, self.mel_config = gan, mel_config
    self.generator = self._generator(gan, mel_config, dtype, mel_input)
    self.discriminators = vocoder_lib.Discriminators(tuple(gan.periods), gan.num_scales,
                                                     tuple(gan.period_channels),
                                                     tuple(gan.scale_channels), dtype)

  @staticmethod
  def _generator(gan, mel_config, dtype, mel_input) -> nn.Module:
    kind = generator_kind(gan)
    if kind == "spectral":
      return vocoder_lib.SpectralGenerator(gan.spectral_channels, gan.spectral_depth, mel_config,
                                           mel_input, dtype)
    if kind != "hifigan":
      raise UserError(f"unknown gan.generator {kind!r}: use 'hifigan' or 'spectral'")
    if int(np.prod(gan.upsample_rates)) != mel_config.hop_length:
      raise UserError(f"the generator upsamples by {int(np.prod(gan.upsample_rates))} "
                      f"(gan.upsample_rates={tuple(gan.upsample_rates)}), but mel frames are "
                      f"{mel_config.hop_length} samples apart (mel.hop_length)")
    return vocoder_lib.Generator(gan.generator_channels, tuple(gan.upsample_rates),
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
    discriminator = vocoder_lib.discriminator_loss(real_outputs, fake_for_discriminator)
    adversarial, matching = vocoder_lib.generator_losses(real_outputs, fake_for_generator)
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


class Task(SpeechTask):
  progress_keys = ("mel_l1", "discriminator", "generator_adv")
  sample_inputs = ()

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    self.gan = WaveformGAN(config.gan, self.mel_config, jnp.dtype(config.compute_dtype),
                           mel_input=True)
    self.acoustic = None
    if config.acoustic_workdir:
      self.acoustic = speech.restore_paired(
          config.acoustic_workdir, "the acoustic model (configs/tts_acoustic.py)", self.mel_config)

  def vocode(self, params, log_mel):
    return self.gan.generate(params["generator"], log_mel)

  def export_params(self, params):
    """The params `vocode` reads: an exported sampler leaves the discriminators out."""
    return {"generator": params["generator"]}

  def _input_mel(self, model_state, batch):
    """True log-mel, or the acoustic model's prediction under the true (MAS) durations."""
    if self.acoustic is None:
      return self.log_mel(batch)
    acoustic = model_state["acoustic"]
    return self.acoustic.task.teacher_forced_mel(acoustic["params"], acoustic["state"], batch)

  def init(self, rng, batch):
    model_state = {} if self.acoustic is None else {
        "acoustic": {"params": self.acoustic.params, "state": self.acoustic.model_state}}
    return self.gan.init(rng, self._input_mel(model_state, batch)), model_state

  def phase(self, step):
    return self.gan.adversarial_phase(step)

  def loss(self, params, model_state, batch, rng, step, phase=True):
    del step
    features, audio = random_windows(rng, self._input_mel(model_state, batch),
                                     speech.to_float(batch["audio"]), batch["num_frames"],
                                     self.config.gan.segment_frames, self.mel_config.hop_length)
    loss, metrics = self.gan.loss(params, features, audio, adversarial=phase)
    return loss, (metrics, model_state)

  def eval_metrics(self, params, model_state, batch):
    mask = batch["mask"]
    generated = self.vocode(params, self._input_mel(model_state, batch))
    l1 = resynthesis_l1(self.log_mel(batch), generated, batch["num_frames"], self.mel_config)
    return {"count": mask.sum(), "resynthesis_mel_l1": jnp.sum(mask * l1)}

  def summarize(self, sums):
    return {"resynthesis_mel_l1": sums["resynthesis_mel_l1"] / sums["count"]}

  def sample(self, params, model_state, path):
    """Resynthesis of the first held-out utterance (WAV) and the PNG of its input mel."""
    arrays = {k: v[:1] for k, v in self.eval_arrays.items()}
    log_mel = jax.jit(self._input_mel)(model_state, arrays)
    length = int(arrays["num_frames"][0])
    wave = np.asarray(jax.jit(self.vocode)(params, log_mel))[0, :length * self.mel_config.hop_length]
    audio_io.write_wav(path, wave, self.mel_config.sample_rate)
    audio_io.save_mel_png(path.removesuffix(".wav") + ".png", np.asarray(log_mel)[0, :length],
                          self.mel_config.log_floor)
    return [path, path.removesuffix(".wav") + ".png"]

  def on_eval(self, params, model_state, step, full=False):
    """Held-out WAVs; with `full`, the Griffin-Lim references (32 iterations, classic and
    mel-matching: see `mel.griffin_lim`) and the real-time factor."""
    arrays = {k: v[:self.config.num_synthesized] for k, v in self.eval_arrays.items()}
    vocode = jax.jit(lambda p, b: self.vocode(p, self.log_mel(b)))
    generated = np.asarray(vocode(params, arrays))
    for i in range(min(4, len(generated))):
      length = arrays["num_frames"][i] * self.mel_config.hop_length
      audio_io.write_wav(self.output_path(f"resynthesis_{step:07d}_{i}.wav"),
                         generated[i, :length], self.mel_config.sample_rate)
    if not full:
      return {}
    start = time.perf_counter()
    jax.block_until_ready(vocode(params, arrays))
    seconds = time.perf_counter() - start
    audio_seconds = generated.size / self.mel_config.sample_rate  # padding is generated too
    log_mel = jax.jit(self.log_mel)(arrays)
    references = {}
    for match, key in (("magnitude", "griffin_lim_mel_l1"),
                       ("mel", "griffin_lim_mel_matching_mel_l1")):
      waves = mel_lib.griffin_lim(log_mel, self.mel_config, match=match)
      references[key] = float(np.mean(resynthesis_l1(log_mel, waves, arrays["num_frames"],
                                                     self.mel_config)))
    return {**references, "real_time_factor": seconds / audio_seconds,
            "times_real_time": audio_seconds / seconds}
