"""Non-autoregressive frames with durations: X = a symbol sequence -> Y′ = frames (`FrameSpec`),
as FastSpeech 2 maps phonemes to mel frames.

A condition encoder embeds the symbols (and whatever else X holds, e.g. a voice); a transformer
encoder turns them into per-symbol states, a per-symbol mean frame and a log duration. Training
durations come from monotonic alignment search (`priors.alignment`) of the standardised target
frames against those means; the length regulator repeats each state for its frames and a frame
decoder (transformer + conv postnet) predicts the frames. Losses: frame L1 (standardised), the
aligner's Gaussian prior loss (Glow-TTS) and the duration predictor's Poisson deviance of the
frame counts (its log-rate output is the log duration).
Synthesis uses the predicted durations.

A domain subclasses `DurationPrior`, giving the condition encoder, the condition arrays of a
batch and the target frames (Y′ of the batch's Y, by stage 1's rule).
"""

import abc

import flax.linen as nn
import jax
import jax.numpy as jnp

from regen_jax.errors import UserError
from regen_jax.nn.transformer import SequenceStack
from regen_jax.priors import alignment, frames as frames_lib
from regen_jax.stages import pairing
from regen_jax.stages.base import Stage
from regen_jax.stages.specs import FrameSpec, describe

_ALIGNER_METRICS = ("prior", "duration", "length", "prior_decided")  # eval means of the aligner's metrics


def poisson_deviance(log_rate, count):
  """Poisson deviance of frame counts under rates exp(log_rate), 0 at log_rate = log(count).
  Its minimiser is the mean count, so predicted lengths add up; a log-duration MSE predicts
  exp(E[log d]) < E[d] (Jensen), and on the slt corpus made utterances 30 % short."""
  count = count.astype(jnp.float32)
  rate = jnp.exp(log_rate)
  return 2 * (jnp.where(count > 0, count * (jnp.log(jnp.maximum(count, 1)) - log_rate), 0.0)
              - (count - rate))


class DurationPredictor(nn.Module):
  """Per-symbol log frame count from (stop-gradient) encoder states."""
  width: int
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, x):
    for _ in range(2):
      x = nn.LayerNorm(dtype=self.dtype)(nn.relu(nn.Conv(self.width, (3,), dtype=self.dtype)(x)))
    return nn.Dense(1, dtype=jnp.float32)(x)[..., 0]


class SymbolEncoder(nn.Module):
  """(X inputs, symbol counts) -> (states (B, P, width), prior_mean (B, P, features),
  log_durations (B, P)). `embedding` maps X to (B, P, width) and shares this module's scope."""
  embedding: nn.Module
  features: int
  width: int
  depth: int
  num_heads: int
  max_symbols: int
  dtype: jnp.dtype = jnp.float32

  def setup(self):
    nn.share_scope(self, self.embedding)

  @nn.compact
  def __call__(self, inputs, lengths):
    x = self.embedding(inputs)
    states = SequenceStack(self.depth, self.num_heads, self.max_symbols, self.dtype)(x, lengths)
    prior_mean = nn.Dense(self.features, dtype=jnp.float32, name="prior_mean")(states)
    log_durations = DurationPredictor(self.width, self.dtype)(jax.lax.stop_gradient(states))
    return states, prior_mean, log_durations


class FrameDecoder(nn.Module):
  """Length-regulated states (B, F, width) -> frames (B, F, features), with a conv postnet."""
  features: int
  depth: int
  num_heads: int
  max_frames: int
  postnet_channels: int
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, frames, lengths):
    x = SequenceStack(self.depth, self.num_heads, self.max_frames, self.dtype)(frames, lengths)
    out = nn.Dense(self.features, dtype=jnp.float32)(x)
    y = out.astype(self.dtype)
    for _ in range(3):
      y = jnp.tanh(nn.Conv(self.postnet_channels, (5,), dtype=self.dtype)(y))
    return out + nn.Conv(self.features, (5,), dtype=jnp.float32)(y)


class DurationAligner:
  """Symbol encoder + MAS aligner + duration predictor + length regulator (`encoder_config`:
  width, depth, num_heads, and the weights of the prior, alignment-prior and duration terms)."""

  def __init__(self, embedding: nn.Module, encoder_config, features: int, max_symbols: int,
               max_frames: int, dtype):
    self.config, self.max_frames = encoder_config, max_frames
    self.module = SymbolEncoder(embedding, features, encoder_config.width, encoder_config.depth,
                                encoder_config.num_heads, max_symbols, dtype)

  def init(self, rng, inputs, lengths):
    return self.module.init(rng, inputs, lengths)["params"]

  def apply(self, params, inputs, lengths):
    return self.module.apply({"params": params}, inputs, lengths)

  def aligned(self, params, inputs, lengths, targets, num_frames):
    """(frame states (B, F, width), {prior, duration, aligner_loss}) under MAS durations;
    `targets` are standardised frames, as the unit-variance Gaussians assume."""
    states, prior_mean, log_durations = self.apply(params, inputs, lengths)
    max_symbols, max_frames = prior_mean.shape[1], targets.shape[1]
    diagonal = self.config.alignment_prior * alignment.diagonal_log_prior(
        lengths, num_frames, max_symbols, max_frames)
    score = alignment.gaussian_log_likelihood(prior_mean, targets) + diagonal
    durations = alignment.monotonic_alignment(score, lengths, num_frames)
    aligned_mean, _ = alignment.length_regulate(prior_mean, durations, max_frames)
    mask = frames_lib.frame_mask(num_frames, max_frames)[..., None]
    prior = jnp.sum(0.5 * (targets - aligned_mean) ** 2 * mask) / (mask.sum() * targets.shape[-1])
    real = durations > 0
    duration = jnp.sum(real * poisson_deviance(log_durations, durations)) / real.sum()
    frames, _ = alignment.length_regulate(states, durations, max_frames)
    return frames, {"prior": prior, "duration": duration,
                    "length": self._length_error(log_durations, real, num_frames),
                    "prior_decided": self.prior_decided(durations, diagonal, lengths, num_frames),
                    "aligner_loss": (self.config.prior_weight * prior
                                     + self.config.duration_weight * duration)}

  @staticmethod
  def _length_error(log_durations, real, num_frames):
    """Mean squared log ratio of predicted to aligned utterance length (a metric)."""
    total = jnp.sum(jnp.where(real, jnp.exp(log_durations), 0.0), axis=1)
    error = jnp.log(jnp.maximum(total, 1e-3)) - jnp.log(jnp.maximum(num_frames, 1))
    return jnp.mean(error ** 2)

  @staticmethod
  def prior_decided(durations, diagonal, lengths, num_frames):
    """Share of frames that MAS gives the symbol the diagonal prior alone would give them: near
    1 means the alignment ignores what the frames sound like."""
    prior_only = alignment.monotonic_alignment(diagonal, lengths, num_frames)
    max_frames = diagonal.shape[-1]
    same = (alignment.frame_symbols(durations, max_frames)
            == alignment.frame_symbols(prior_only, max_frames))
    mask = frames_lib.frame_mask(num_frames, max_frames)
    return jnp.sum(same * mask) / mask.sum()

  def predicted(self, params, inputs, lengths, pace=1.0):
    """(frame states, frame counts) under predicted durations (divided by `pace`), for synthesis."""
    states, _, log_durations = self.apply(params, inputs, lengths)
    durations = alignment.predicted_durations(log_durations, lengths, pace)
    return alignment.length_regulate(states, durations, self.max_frames)


class DurationPrior(Stage):

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    self.stage1 = pairing.load_stage1(config)
    self.spec = self.stage1.spec
    if not isinstance(self.spec, FrameSpec):
      raise UserError(f"a duration prior needs a stage 1 that makes frames; config.stage1 makes "
                      f"{self.spec.name}")
    dtype = jnp.dtype(config.compute_dtype)
    self.aligner = DurationAligner(self.condition_encoder(), config.encoder, self.spec.features,
                                   self.max_symbols, config.max_frames, dtype)
    self.decoder = FrameDecoder(self.spec.features, config.decoder.depth, config.decoder.num_heads,
                                config.max_frames, config.decoder.postnet_channels, dtype)
    self.l1_key = f"{self.spec.name}_l1"
    self.progress_keys = (self.l1_key, "prior", "duration")

  # ---- what the domain supplies
  @property
  @abc.abstractmethod
  def max_symbols(self) -> int:
    """The longest symbol sequence X holds."""

  @abc.abstractmethod
  def condition_encoder(self) -> nn.Module:
    """X -> symbol embeddings (B, P, config.encoder.width)."""

  @abc.abstractmethod
  def condition(self, batch) -> tuple[dict, jax.Array]:
    """(the condition arrays the encoder reads, symbol counts (B,)) of a batch."""

  @abc.abstractmethod
  def targets(self, batch) -> tuple[jax.Array, jax.Array]:
    """(frames (B, max_frames, features), frame counts (B,)): Y′ of the batch's Y."""

  def trained_against(self):
    return {"stage1": {"fingerprint": self.stage1.fingerprint,
                       "spec": describe(self.spec)}}

  # ---- training
  def _decode(self, params, frames, num_frames):
    return self.decoder.apply({"params": params["decoder"]}, frames, num_frames)

  def init(self, rng, batch):
    """Params, and per-feature statistics of the first batch's frames (the model works on
    standardised frames; the statistics travel with its checkpoints)."""
    enc_rng, dec_rng = jax.random.split(rng)
    inputs, lengths = self.condition(batch)
    targets, num_frames = self.targets(batch)
    frames = jnp.zeros((num_frames.shape[0], self.config.max_frames, self.config.encoder.width))
    params = {"encoder": self.aligner.init(enc_rng, inputs, lengths),
              "decoder": self.decoder.init(dec_rng, frames, num_frames)["params"]}
    return params, {"frame_stats": frames_lib.statistics(targets, num_frames)}

  def _losses(self, params, model_state, batch):
    """Per-example L1 (standardised units, and the frames' own units) under the MAS durations."""
    stats = model_state["frame_stats"]
    inputs, lengths = self.condition(batch)
    targets, num_frames = self.targets(batch)
    standardised = frames_lib.standardize(targets, stats)
    frames, metrics = self.aligner.aligned(params["encoder"], inputs, lengths, standardised,
                                           num_frames)
    predicted = self._decode(params, frames, num_frames)
    mask = frames_lib.frame_mask(num_frames, self.config.max_frames)[..., None]
    per_frame = lambda error: (error * mask).sum((1, 2)) / (mask.sum((1, 2)) * targets.shape[-1])
    return (per_frame(jnp.abs(predicted - standardised)),
            per_frame(jnp.abs(frames_lib.unstandardize(predicted, stats) - targets)), metrics)

  def loss(self, params, model_state, batch, rng, step):
    del rng, step
    standardised, l1, metrics = self._losses(params, model_state, batch)
    loss = standardised.mean() + metrics.pop("aligner_loss")
    return loss, ({**metrics, self.l1_key: l1.mean()}, model_state)

  def eval_metrics(self, params, model_state, batch):
    mask = batch["mask"]
    _, l1, metrics = self._losses(params, model_state, batch)
    return {"count": mask.sum(), f"teacher_forced_{self.l1_key}": jnp.sum(mask * l1),
            **{k: mask.sum() * metrics[k] for k in _ALIGNER_METRICS}}

  def summarize(self, sums):
    return {k: sums[k] / sums["count"]
            for k in (f"teacher_forced_{self.l1_key}", *_ALIGNER_METRICS)}

  # ---- inference
  def teacher_forced(self, params, model_state, batch):
    """The decoder's frames under the aligned (true) durations, e.g. to fine-tune stage 1."""
    stats = model_state["frame_stats"]
    inputs, lengths = self.condition(batch)
    targets, num_frames = self.targets(batch)
    frames, _ = self.aligner.aligned(params["encoder"], inputs, lengths,
                                     frames_lib.standardize(targets, stats), num_frames)
    return jax.lax.stop_gradient(
        frames_lib.unstandardize(self._decode(params, frames, num_frames), stats))

  def synthesize(self, params, model_state, batch, pace=1.0):
    """(frames (B, max_frames, features), frame counts) from X and predicted durations; `pace`
    > 1 is faster (durations divided by it)."""
    inputs, lengths = self.condition(batch)
    frames, num_frames = self.aligner.predicted(params["encoder"], inputs, lengths, pace)
    predicted = self._decode(params, frames, num_frames)
    return frames_lib.unstandardize(predicted, model_state["frame_stats"]), num_frames
