"""Speech stage X -> Y': phonemes -> mel frames (non-autoregressive, durations from MAS).

The model works on standardised log-mels (per-bin statistics of the first training batch, kept in
its checkpoints). Losses: mel L1 of the decoder under the aligned durations, the aligner's Gaussian prior loss
(Glow-TTS), and the duration predictor's log-duration MSE. Synthesis uses predicted durations.
With `vocoder_workdir`, `evaluate` and `sample` run the whole pipeline text -> phonemes -> mel
-> waveform; a vocoder trained on other mel settings is refused.
"""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from regen_jax.abstractions import mel as mel_lib
from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.errors import UserError
from regen_jax.evaluate import audio as audio_io
from regen_jax.models import acoustic as acoustic_lib
from regen_jax.tasks import speech
from regen_jax.tasks.speech import SpeechTask, frame_mask

_SHOWN = 4  # held-out utterances written as WAV/PNG at each evaluation


def encoder_config(test: bool) -> ml_collections.ConfigDict:
  """The phoneme encoder and aligner; shared with the direct baseline."""
  encoder = ml_collections.ConfigDict()
  encoder.width = 32 if test else 128
  encoder.depth = 1 if test else 3
  encoder.num_heads = 2
  encoder.prior_weight = 1.0
  encoder.alignment_prior = 1.0  # weight of the diagonal beta-binomial prior in MAS (0 = none)
  encoder.duration_weight = 1.0
  return encoder


def default_config(test: bool) -> ml_collections.ConfigDict:
  config = speech.base_config(test)
  config.task = "acoustic"
  config.num_steps = 20 if test else 500  # ≈ 7.5 min on 2 CPU cores
  config.batch_size = 4 if test else 16
  config.eval_every = 10 if test else 500
  config.checkpoint_every = 10 if test else 250
  config.optimizer.learning_rate = 1e-3
  config.optimizer.weight_decay = 0.01
  config.encoder = encoder_config(test)
  config.decoder = ml_collections.ConfigDict()
  config.decoder.depth = 1 if test else 3
  config.decoder.num_heads = 2
  config.decoder.postnet_channels = 16 if test else 128
  config.vocoder_workdir = ""  # a trained configs/tts_vocoder.py: evaluate/sample to waveforms
  return config


class AlignedEncoder:
  """Phoneme encoder + MAS aligner + duration predictor + length regulator."""

  def __init__(self, config, mel_config, num_voices: int):
    enc = config.encoder
    self.config, self.mel_config = config, mel_config
    self.module = acoustic_lib.PhonemeEncoder(
        phoneme_lib.NUM_SYMBOLS, num_voices, mel_config.n_mels, enc.width, enc.depth,
        enc.num_heads, config.max_phonemes, jnp.dtype(config.compute_dtype))

  def init(self, rng, batch):
    return self.module.init(rng, batch["phonemes"], batch["num_phonemes"], batch["voice"])["params"]

  def apply(self, params, batch):
    return self.module.apply({"params": params}, batch["phonemes"], batch["num_phonemes"],
                             batch["voice"])

  def aligned(self, params, batch, mel):
    """(frame states (B, F, width), {prior, duration losses}) under MAS durations; `mel` is
    the log-mel standardised (`speech.normalize`), as the unit-variance Gaussians assume."""
    states, prior_mean, log_durations = self.apply(params, batch)
    max_phonemes, max_frames = prior_mean.shape[1], mel.shape[1]
    score = (acoustic_lib.gaussian_log_likelihood(prior_mean, mel)
             + self.config.encoder.alignment_prior * acoustic_lib.diagonal_log_prior(
                 batch["num_phonemes"], batch["num_frames"], max_phonemes, max_frames))
    durations = acoustic_lib.monotonic_alignment(score, batch["num_phonemes"], batch["num_frames"])
    aligned_mean, _ = acoustic_lib.length_regulate(prior_mean, durations, max_frames)
    mask = frame_mask(batch["num_frames"], max_frames)[..., None]
    prior = jnp.sum(0.5 * (mel - aligned_mean) ** 2 * mask) / (mask.sum() * mel.shape[-1])
    real = durations > 0
    duration = jnp.sum(real * (log_durations - jnp.log(jnp.maximum(durations, 1))) ** 2) / real.sum()
    frames, _ = acoustic_lib.length_regulate(states, durations, max_frames)
    enc = self.config.encoder
    return frames, {"prior": prior, "duration": duration,
                    "aligner_loss": enc.prior_weight * prior + enc.duration_weight * duration}

  def predicted(self, params, batch):
    """(frame states, frame counts) under predicted durations, for synthesis."""
    states, _, log_durations = self.apply(params, batch)
    durations = acoustic_lib.predicted_durations(log_durations, batch["num_phonemes"])
    return acoustic_lib.length_regulate(states, durations, self.config.max_frames)


class Task(SpeechTask):
  progress_keys = ("mel_l1", "prior", "duration")

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    self.encoder = AlignedEncoder(config, self.mel_config, self.num_voices)
    self.decoder = acoustic_lib.FrameDecoder(
        self.mel_config.n_mels, config.decoder.depth, config.decoder.num_heads, config.max_frames,
        config.decoder.postnet_channels, jnp.dtype(config.compute_dtype))
    self.vocoder = None
    if config.vocoder_workdir:
      self.vocoder = speech.restore_paired(config.vocoder_workdir,
                                           "the vocoder (configs/tts_vocoder.py)", self.mel_config)

  def _decode(self, params, frames, num_frames):
    return self.decoder.apply({"params": params["decoder"]}, frames, num_frames)

  def init(self, rng, batch):
    """Params, and per-bin log-mel statistics of the first batch (the model works on
    standardised mels; the statistics travel with its checkpoints)."""
    enc_rng, dec_rng = jax.random.split(rng)
    frames = jnp.zeros((batch["audio"].shape[0], self.config.max_frames,
                        self.config.encoder.width))
    params = {"encoder": self.encoder.init(enc_rng, batch),
              "decoder": self.decoder.init(dec_rng, frames, batch["num_frames"])["params"]}
    return params, {"mel_stats": speech.mel_statistics(self.log_mel(batch), batch["num_frames"])}

  def _losses(self, params, model_state, batch):
    """Per-utterance L1 (standardised units, and log-mel units) under the MAS durations."""
    stats = model_state["mel_stats"]
    log_mel = self.log_mel(batch)
    target = speech.normalize(log_mel, stats)
    frames, metrics = self.encoder.aligned(params["encoder"], batch, target)
    predicted = self._decode(params, frames, batch["num_frames"])
    mask = frame_mask(batch["num_frames"], self.config.max_frames)[..., None]
    per_frame = lambda error: (error * mask).sum((1, 2)) / (mask.sum((1, 2)) * target.shape[-1])
    return (per_frame(jnp.abs(predicted - target)),
            per_frame(jnp.abs(speech.denormalize(predicted, stats) - log_mel)), metrics)

  def loss(self, params, model_state, batch, rng, step):
    del rng, step
    standardised, log_mel_l1, metrics = self._losses(params, model_state, batch)
    loss = standardised.mean() + metrics.pop("aligner_loss")
    return loss, (dict(metrics, mel_l1=log_mel_l1.mean()), model_state)

  def teacher_forced_mel(self, params, model_state, batch):
    """The decoder's log-mel under the aligned (true) durations, e.g. to fine-tune a vocoder."""
    stats = model_state["mel_stats"]
    target = speech.normalize(self.log_mel(batch), stats)
    frames, _ = self.encoder.aligned(params["encoder"], batch, target)
    return jax.lax.stop_gradient(
        speech.denormalize(self._decode(params, frames, batch["num_frames"]), stats))

  def synthesize(self, params, model_state, batch):
    """(log-mel (B, max_frames, n_mels), frame counts) from phonemes and predicted durations."""
    frames, num_frames = self.encoder.predicted(params["encoder"], batch)
    mel = self._decode(params, frames, num_frames)
    return speech.denormalize(mel, model_state["mel_stats"]), num_frames

  def eval_metrics(self, params, model_state, batch):
    mask = batch["mask"]
    _, log_mel_l1, metrics = self._losses(params, model_state, batch)
    return {"count": mask.sum(), "teacher_forced_mel_l1": jnp.sum(mask * log_mel_l1),
            "prior": mask.sum() * metrics["prior"], "duration": mask.sum() * metrics["duration"]}

  def summarize(self, sums):
    return {k: sums[k] / sums["count"] for k in ("teacher_forced_mel_l1", "prior", "duration")}

  def _waveforms(self, log_mel):
    """The vocoder's waveforms of predicted mels (Griffin-Lim when no vocoder is given)."""
    if self.vocoder is None:
      return jax.jit(lambda m: mel_lib.griffin_lim(m, self.mel_config))(log_mel)
    return jax.jit(self.vocoder.task.vocode)(self.vocoder.params, log_mel)

  def on_eval(self, params, model_state, step, full=False):
    """Held-out sentences synthesized from their text: DTW mel L1 / MCD against the recordings,
    and, with a vocoder, the same scores of the whole pipeline's waveforms."""
    count = self.config.num_synthesized if full else _SHOWN
    arrays = {k: v[:count] for k, v in self.eval_arrays.items()}
    mels, num_frames = jax.device_get(jax.jit(self.synthesize)(params, model_state, arrays))
    reference = np.asarray(jax.jit(self.log_mel)(arrays))
    scores = speech.score_mels(mels, num_frames, reference, arrays["num_frames"])
    for i in range(min(_SHOWN, count)):
      audio_io.save_mel_png(self.output_path(f"mel_{step:07d}_{i}.png"),
                            mels[i, :num_frames[i]], self.mel_config.log_floor)
    if full and self.vocoder is not None:
      waves = np.asarray(self._waveforms(mels))
      wave_mels = np.asarray(jax.jit(lambda w: mel_lib.mel_spectrogram(w, self.mel_config))(waves))
      pipeline = speech.score_mels(wave_mels, num_frames, reference, arrays["num_frames"])
      scores.update({f"pipeline_{k}": v for k, v in pipeline.items()})
      for i in range(min(_SHOWN, count)):
        audio_io.write_wav(self.output_path(f"pipeline_{step:07d}_{i}.wav"),
                           waves[i, :num_frames[i] * self.mel_config.hop_length],
                           self.mel_config.sample_rate)
    return scores

  def export_sampler(self, params, model_state):
    """`synthesize` then the vocoder for `regen_jax.export`: one utterance's phoneme ids in, its
    waveform and valid sample count out. Text -> ids (the Python front end) stays outside: the
    description records the symbol table and its version."""
    if self.vocoder is None:
      raise UserError("export needs the vocoder: pass --config.vocoder_workdir=DIR (a trained "
                      "configs/tts_vocoder.py)")
    vocoder, hop = self.vocoder.task, self.mel_config.hop_length

    def speak(tree, phonemes, num_phonemes, voice):
      batch = {"phonemes": phonemes, "num_phonemes": num_phonemes, "voice": voice}
      mel, num_frames = self.synthesize(tree["acoustic"], tree["acoustic_state"], batch)
      return {"waveform": vocoder.vocode(tree["vocoder"], mel), "num_samples": num_frames * hop}

    tree = {"acoustic": params, "acoustic_state": model_state,
            "vocoder": vocoder.export_params(self.vocoder.params)}
    inputs = {k: v for k, v in self.example_batch(1).items()
              if k in ("phonemes", "num_phonemes", "voice")}
    return speak, tree, inputs, self._export_description()

  def _export_description(self) -> dict:
    config, rate = self.config, self.mel_config.sample_rate
    return {
        "name": "tts", "dataset": config.dataset, "mel": self.mel_config.as_dict(),
        "max_phonemes": config.max_phonemes, "max_frames": config.max_frames,
        "num_voices": self.num_voices,
        "vocoder": {"workdir": config.vocoder_workdir, "step": self.vocoder.step},
        "phonemes": {"symbol_table_version": phoneme_lib.SYMBOL_TABLE_VERSION,
                     "symbols": list(phoneme_lib.SYMBOLS),
                     "front_end": "regen_jax.tasks.speech.phoneme_ids(text): the word boundary's "
                                  "id, then regen_jax.abstractions.phonemes.encode(text)"},
        "inputs": {"phonemes": f"one utterance's phoneme ids (domain.phonemes.symbols), padded "
                               f"with 0 (<pad>) to {config.max_phonemes}",
                   "num_phonemes": f"how many ids are real, in [1, {config.max_phonemes}]",
                   "voice": f"voice index in [0, {self.num_voices})"},
        "outputs": {"waveform": f"audio at {rate} Hz in [-1, 1]; past num_samples it is padding",
                    "num_samples": "the waveform's valid samples"}}

  def sample(self, params, model_state, path, text=None, voice=0):
    """`--text`: WAV (through the vocoder, or Griffin-Lim without one) and the PNG of its mel."""
    if not text:
      raise UserError("give the sentence to speak: --text 'Hello there.'")
    batch = self.text_inputs(text, voice)
    mel, num_frames = jax.device_get(jax.jit(self.synthesize)(params, model_state, batch))
    frames = int(num_frames[0])
    if self.vocoder is None:
      print("no --config.vocoder_workdir: the waveform is Griffin-Lim's (a reference, not the "
            "vocoder)", flush=True)
    wave = np.asarray(self._waveforms(mel))[0, :frames * self.mel_config.hop_length]
    audio_io.write_wav(path, wave, self.mel_config.sample_rate)
    audio_io.save_mel_png(path.removesuffix(".wav") + ".png", mel[0, :frames],
                          self.mel_config.log_floor)
    return [path, path.removesuffix(".wav") + ".png"]
