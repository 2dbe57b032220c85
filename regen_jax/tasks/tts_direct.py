"""Speech baseline X -> Y without Y': phonemes -> waveform, one model trained end to end.

The acoustic model's encoder, aligner and frame transformer feed the vocoder's generator
directly: no mel bottleneck and no separately trained stages. Like FastSpeech 2s, the length
regulator needs durations while training; they come from the same MAS aligner, which scores
phonemes against the recording's log-mel (an alignment signal only: nothing predicts or consumes
a mel). The waveform is trained with the vocoder's GAN, feature-matching and mel-L1 losses on
random windows of the frame states.
"""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from regen_jax.abstractions import mel as mel_lib
from regen_jax.errors import UserError
from regen_jax.evaluate import audio as audio_io
from regen_jax.models import acoustic as acoustic_lib
from regen_jax.tasks import acoustic, speech, vocoder
from regen_jax.tasks.speech import SpeechTask

_SHOWN = 4


def default_config(test: bool) -> ml_collections.ConfigDict:
  config = speech.base_config(test)
  config.task = "tts_direct"
  config.num_steps = 20 if test else 600  # the vocoder's steps and batch: ≈ 7 min on 2 CPU cores
  config.batch_size = 4 if test else 8
  config.eval_every = 10 if test else 600
  config.checkpoint_every = 10 if test else 250
  config.optimizer.learning_rate = 1e-3
  config.optimizer.warmup_steps = 2 if test else 50
  vocoder.gan_optimizers(config)
  config.encoder = acoustic.encoder_config(test)
  config.frames = ml_collections.ConfigDict()
  config.frames.depth = 1 if test else 3
  config.frames.num_heads = 2
  config.gan = vocoder.gan_config(test)
  return config


class Task(SpeechTask):
  progress_keys = ("mel_l1", "prior", "duration", "discriminator")

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    dtype = jnp.dtype(config.compute_dtype)
    self.encoder = acoustic.AlignedEncoder(config, self.mel_config, self.num_voices)
    self.frames = acoustic_lib.SequenceStack(config.frames.depth, config.frames.num_heads,
                                             config.max_frames, dtype)
    self.gan = vocoder.WaveformGAN(config.gan, self.mel_config, dtype, mel_input=False)

  def _frame_states(self, params, frames, num_frames):
    return self.frames.apply({"params": params["frames"]}, frames, num_frames)

  def init(self, rng, batch):
    enc_rng, frames_rng, gan_rng = jax.random.split(rng, 3)
    frames = jnp.zeros((batch["audio"].shape[0], self.config.max_frames,
                        self.config.encoder.width))
    params = {"encoder": self.encoder.init(enc_rng, batch),
              "frames": self.frames.init(frames_rng, frames, batch["num_frames"])["params"]}
    stats = speech.mel_statistics(self.log_mel(batch), batch["num_frames"])
    return {**params, **self.gan.init(gan_rng, frames)}, {"mel_stats": stats}

  def _teacher_forced_states(self, params, model_state, batch):
    target = speech.normalize(self.log_mel(batch), model_state["mel_stats"])
    frames, metrics = self.encoder.aligned(params["encoder"], batch, target)
    return self._frame_states(params, frames, batch["num_frames"]), metrics

  def phase(self, step):
    return self.gan.adversarial_phase(step)

  def loss(self, params, model_state, batch, rng, step, phase=True):
    del step
    states, aligner = self._teacher_forced_states(params, model_state, batch)
    features, audio = vocoder.random_windows(rng, states, speech.to_float(batch["audio"]),
                                             batch["num_frames"], self.config.gan.segment_frames,
                                             self.mel_config.hop_length)
    loss, metrics = self.gan.loss(params, features, audio, adversarial=phase)
    loss = loss + aligner.pop("aligner_loss")
    return loss, ({**metrics, **aligner}, model_state)

  def synthesize(self, params, batch):
    """(waveform (B, max_frames * hop), frame counts) from phonemes and predicted durations."""
    frames, num_frames = self.encoder.predicted(params["encoder"], batch)
    states = self._frame_states(params, frames, num_frames)
    return self.gan.generate(params["generator"], states), num_frames

  def eval_metrics(self, params, model_state, batch):
    """Mel L1 of the waveform generated under the true durations (same frames as the vocoder's)."""
    mask = batch["mask"]
    states, _ = self._teacher_forced_states(params, model_state, batch)
    generated = self.gan.generate(params["generator"], states)
    l1 = vocoder.resynthesis_l1(self.log_mel(batch), generated, batch["num_frames"],
                                self.mel_config)
    return {"count": mask.sum(), "teacher_forced_mel_l1": jnp.sum(mask * l1)}

  def summarize(self, sums):
    return {"teacher_forced_mel_l1": sums["teacher_forced_mel_l1"] / sums["count"]}

  def on_eval(self, params, model_state, step, full=False):
    """Held-out sentences synthesized from their text: DTW mel L1 / MCD against the recordings."""
    count = self.config.num_synthesized if full else _SHOWN
    arrays = {k: v[:count] for k, v in self.eval_arrays.items()}
    waves, num_frames = jax.device_get(jax.jit(self.synthesize)(params, arrays))
    mels = np.asarray(jax.jit(lambda w: mel_lib.mel_spectrogram(w, self.mel_config))(waves))
    reference = np.asarray(jax.jit(self.log_mel)(arrays))
    for i in range(min(_SHOWN, count)):
      audio_io.write_wav(self.output_path(f"direct_{step:07d}_{i}.wav"),
                         waves[i, :num_frames[i] * self.mel_config.hop_length],
                         self.mel_config.sample_rate)
    return speech.score_mels(mels, num_frames, reference, arrays["num_frames"])

  def sample(self, params, model_state, path, text=None, voice=0):
    """`--text`: the WAV and the PNG of its mel."""
    if not text:
      raise UserError("give the sentence to speak: --text 'Hello there.'")
    batch = self.text_inputs(text, voice)
    waves, num_frames = jax.device_get(jax.jit(self.synthesize)(params, batch))
    wave = waves[0, :int(num_frames[0]) * self.mel_config.hop_length]
    audio_io.write_wav(path, wave, self.mel_config.sample_rate)
    mel = mel_lib.mel_spectrogram(jnp.asarray(wave), self.mel_config)
    audio_io.save_mel_png(path.removesuffix(".wav") + ".png", np.asarray(mel),
                          self.mel_config.log_floor)
    return [path, path.removesuffix(".wav") + ".png"]
