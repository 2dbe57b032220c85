"""Speech synthesis baseline X -> Y without Y′: phonemes -> waveform, one model trained end to end.

The acoustic model's encoder, aligner and frame transformer feed the vocoder's generator
directly: no mel bottleneck and no separately trained stages. Like FastSpeech 2s, the length
regulator needs durations while training; they come from the same MAS aligner, which scores
phonemes against the recording's log-mel (an alignment signal only: nothing predicts or consumes
a mel). The waveform is trained with the vocoder's GAN, feature-matching and mel-L1 losses on
random windows of the frame states.
"""

import jax
import jax.numpy as jnp
import numpy as np

from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.domains.speech import audio as audio_io
from regen_jax.domains.speech.acoustic import PhonemeVoiceEmbedding
from regen_jax.domains.speech.utterances import (PACE, TEXT, VOICE, SpeechData, check_pace,
                                                 concatenated, padded_chunks, score_mels,
                                                 to_float)
from regen_jax.domains.speech.vocoder import WaveformGAN, random_windows, resynthesis_l1
from regen_jax.errors import UserError
from regen_jax.nn.transformer import SequenceStack
from regen_jax.priors import frames as frames_lib
from regen_jax.priors.durations import DurationAligner
from regen_jax.stages.base import Stage

_SHOWN = 4


class TTSDirect(SpeechData, Stage):
  progress_keys = ("mel_l1", "prior", "duration", "discriminator")
  sample_flags = (TEXT, VOICE, PACE)
  runtime_keys = ("num_synthesized",)

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    dtype = jnp.dtype(config.compute_dtype)
    embedding = PhonemeVoiceEmbedding(phoneme_lib.NUM_SYMBOLS, self.num_voices,
                                      config.encoder.width)
    self.aligner = DurationAligner(embedding, config.encoder, self.mel_config.n_mels,
                                   config.max_phonemes, config.max_frames, dtype)
    self.frames = SequenceStack(config.frames.depth, config.frames.num_heads, config.max_frames,
                                dtype)
    self.gan = WaveformGAN(config.gan, self.mel_config, dtype, mel_input=False)
    self._synthesize = jax.jit(self.synthesize)

  @staticmethod
  def _condition(batch):
    return {"phonemes": batch["phonemes"], "voice": batch["voice"]}, batch["num_phonemes"]

  def _frame_states(self, params, frames, num_frames):
    return self.frames.apply({"params": params["frames"]}, frames, num_frames)

  def init(self, rng, batch):
    enc_rng, frames_rng, gan_rng = jax.random.split(rng, 3)
    frames = jnp.zeros((batch["audio"].shape[0], self.config.max_frames,
                        self.config.encoder.width))
    params = {"encoder": self.aligner.init(enc_rng, *self._condition(batch)),
              "frames": self.frames.init(frames_rng, frames, batch["num_frames"])["params"]}
    stats = frames_lib.statistics(self.log_mel(batch), batch["num_frames"])
    return {**params, **self.gan.init(gan_rng, frames)}, {"frame_stats": stats}

  def _teacher_forced_states(self, params, model_state, batch):
    target = frames_lib.standardize(self.log_mel(batch), model_state["frame_stats"])
    frames, metrics = self.aligner.aligned(params["encoder"], *self._condition(batch), target,
                                           batch["num_frames"])
    return self._frame_states(params, frames, batch["num_frames"]), metrics

  def phase(self, step):
    return self.gan.adversarial_phase(step)

  def loss(self, params, model_state, batch, rng, step, phase=True):
    del step
    states, aligner = self._teacher_forced_states(params, model_state, batch)
    features, audio = random_windows(rng, states, to_float(batch["audio"]), batch["num_frames"],
                                     self.config.gan.segment_frames, self.mel_config.hop_length)
    loss, metrics = self.gan.loss(params, features, audio, adversarial=phase)
    loss = loss + aligner.pop("aligner_loss")
    return loss, ({**metrics, **aligner}, model_state)

  def synthesize(self, params, batch, pace=1.0):
    """(waveform (B, max_frames * hop), frame counts) from phonemes and predicted durations
    (divided by `pace`)."""
    frames, num_frames = self.aligner.predicted(params["encoder"], *self._condition(batch), pace)
    states = self._frame_states(params, frames, num_frames)
    return self.gan.generate(params["generator"], states), num_frames

  def eval_metrics(self, params, model_state, batch):
    """Mel L1 of the waveform generated under the true durations (same frames as the vocoder's),
    and the share of frames the alignment prior alone places."""
    mask = batch["mask"]
    states, aligner = self._teacher_forced_states(params, model_state, batch)
    generated = self.gan.generate(params["generator"], states)
    l1 = resynthesis_l1(self.log_mel(batch), generated, batch["num_frames"], self.mel_config)
    return {"count": mask.sum(), "teacher_forced_mel_l1": jnp.sum(mask * l1),
            "prior_decided": mask.sum() * aligner["prior_decided"]}

  def summarize(self, sums):
    return {k: sums[k] / sums["count"] for k in ("teacher_forced_mel_l1", "prior_decided")}

  def on_eval(self, params, model_state, step, full=False):
    """Held-out sentences synthesized from their text: DTW mel L1 / MCD against the recordings
    and the length ratio; with `full` also their intelligibility (ASR-WER)."""
    arrays = self.evaluated_arrays(full, _SHOWN)
    out = concatenated([self._synthesized(params, chunk, real) for chunk, real
                        in padded_chunks(arrays, self.config.eval_batch_size)])
    for i in range(min(_SHOWN, len(out["wave"]))):
      audio_io.write_wav(self.output_path(f"direct_{step:07d}_{i}.wav"),
                         out["wave"][i, :out["num_frames"][i] * self.mel_config.hop_length],
                         self.mel_config.sample_rate)
    scores = score_mels(out["mel"], out["num_frames"], out["reference"], arrays["num_frames"])
    if full:
      scores.update(self.intelligibility("direct", step, out["wave"], out["num_frames"]))
    return scores

  def _synthesized(self, params, chunk, real: int) -> dict:
    """The first `real` rows of one chunk: waveforms, frame counts, their mels, the recordings'."""
    waves, num_frames = jax.device_get(self._synthesize(params, chunk))
    out = {"wave": waves, "num_frames": num_frames,
           "mel": np.asarray(self._mel_of_waves(waves)),
           "reference": np.asarray(self._log_mel(chunk))}
    return {k: v[:real] for k, v in out.items()}

  def sample(self, params, model_state, path, text=None, voice=0, pace=1.0):
    """`--text`: the WAV and the PNG of its mel."""
    if not text:
      raise UserError("give the sentence to speak: --text 'Hello there.'")
    batch = self.text_inputs(text, voice)
    waves, num_frames = jax.device_get(self._synthesize(params, batch, check_pace(pace)))
    wave = waves[0, :int(num_frames[0]) * self.mel_config.hop_length]
    mel = self._mel_of_waves(jnp.asarray(wave))
    return self.write_wav_and_mel(path, wave, np.asarray(mel))
