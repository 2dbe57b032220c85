"""Waveform generators with HiFi-GAN's multi-period and multi-scale discriminators.

`Generator` is HiFi-GAN's (Kong et al. 2020): transposed-conv upsampling by the hop length, each
stage followed by a multi-receptive-field fusion of dilated residual blocks. `SpectralGenerator`
is Vocos-style (Siuzdak 2023): ConvNeXt blocks at the frame rate predict each frame's STFT
magnitude (its phase is a rule on the magnitudes), and the inverse STFT of the mel's own framing
makes the waveform — no upsampling layers, so it runs at 1/hop of the sample rate and its mel
loss falls in far fewer steps. The discriminators look at the waveform folded by several periods
(2D convs) and at several average-pooled scales (strided 1D convs). Layout is (batch, time,
channels). A generator's input is any frame-rate feature sequence: mel frames for the vocoder,
length-regulated phoneme states for the direct baseline.
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from regen_jax.abstractions import mel as mel_lib

_SLOPE = 0.1


def _normed(layer: nn.Module) -> nn.Module:
  """Weight normalisation, as HiFi-GAN's generator: much faster early training than plain convs."""
  return nn.WeightNorm(layer)


class ResBlock(nn.Module):
  """Dilated convs with residual connections (HiFi-GAN's ResBlock1)."""
  kernel_size: int
  dilations: Sequence[int]
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, x):
    channels = x.shape[-1]
    for dilation in self.dilations:
      y = _normed(nn.Conv(channels, (self.kernel_size,), kernel_dilation=dilation,
                          dtype=self.dtype))(nn.leaky_relu(x, _SLOPE))
      y = _normed(nn.Conv(channels, (self.kernel_size,), dtype=self.dtype))(
          nn.leaky_relu(y, _SLOPE))
      x = x + y
    return x


class Generator(nn.Module):
  """(B, frames, features) -> (B, frames * prod(upsample_rates)) samples in [-1, 1]."""
  channels: int
  upsample_rates: Sequence[int]
  resblock_kernels: Sequence[int]
  resblock_dilations: Sequence[int]
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, features):
    x = _normed(nn.Conv(self.channels, (7,), dtype=self.dtype))(features.astype(self.dtype))
    for i, rate in enumerate(self.upsample_rates):
      x = _normed(nn.ConvTranspose(self.channels // 2 ** (i + 1), (2 * rate,), strides=(rate,),
                                   dtype=self.dtype))(nn.leaky_relu(x, _SLOPE))
      # Multi-receptive-field fusion: the mean of residual stacks of several kernel sizes.
      x = sum(ResBlock(k, tuple(self.resblock_dilations), self.dtype)(x)
              for k in self.resblock_kernels) / len(self.resblock_kernels)
    x = _normed(nn.Conv(1, (7,), dtype=self.dtype))(nn.leaky_relu(x))
    return jnp.tanh(x[..., 0].astype(jnp.float32))


class ConvNeXtBlock(nn.Module):
  """Depthwise conv, LayerNorm, pointwise MLP, layer-scaled residual (ConvNeXt, as in Vocos)."""
  layer_scale: float
  dtype: jnp.dtype
  kernel_size: int = 7
  expansion: int = 3

  @nn.compact
  def __call__(self, x):
    channels = x.shape[-1]
    y = nn.Conv(channels, (self.kernel_size,), feature_group_count=channels, dtype=self.dtype)(x)
    y = nn.LayerNorm(dtype=self.dtype)(y)
    y = nn.Dense(channels, dtype=self.dtype)(
        nn.gelu(nn.Dense(self.expansion * channels, dtype=self.dtype)(y)))
    scale = self.param("layer_scale", nn.initializers.constant(self.layer_scale), (channels,))
    return x + scale * y


class SpectralGenerator(nn.Module):
  """(B, frames, features) -> (B, frames * hop_length) samples: per-frame STFT, then its inverse.

  The network predicts each frame's STFT log-magnitude; its output layer starts at zero, and when
  the features are log-mels (`mel_input`) the prediction is a residual on the filterbank's
  pseudo-inverse of the mel, so training starts from a usable waveform. The phase is not learned:
  `peak_locked_phase` of the predicted magnitudes, so the bins of each harmonic stay coherent.
  A learned per-frame phase advance cumulated over frames did worse (even the recordings' own
  advances, cumulated, do worse than a rule), and so did the rule before this one, independent
  per-bin sinusoids, whose bins of one harmonic beat against each other
  (`experiments/vocoder_phase_oracles.py`, README).
  """
  channels: int
  depth: int
  mel_config: mel_lib.MelConfig
  mel_input: bool
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, features):
    x = nn.Conv(self.channels, (7,), dtype=self.dtype)(features.astype(self.dtype))
    x = nn.LayerNorm(dtype=self.dtype)(x)
    for _ in range(self.depth):
      x = ConvNeXtBlock(1.0 / self.depth, self.dtype)(x)
    x = nn.LayerNorm(dtype=self.dtype)(x)
    cfg = self.mel_config
    log_magnitude = nn.Dense(cfg.n_fft // 2 + 1, kernel_init=nn.initializers.zeros,
                             dtype=self.dtype)(x).astype(jnp.float32)
    if self.mel_input:
      prior = mel_lib.pseudo_inverse_magnitude(features.astype(jnp.float32), cfg)
      log_magnitude += jnp.log(jnp.maximum(prior, cfg.log_floor))
    # No frame of a waveform in [-1, 1] exceeds the window's sum: the bound keeps exp finite.
    magnitude = jnp.exp(jnp.minimum(log_magnitude, np.log(cfg.win_length / 2)))
    phase = peak_locked_phase(jax.lax.stop_gradient(magnitude), cfg)
    spectrum = jax.lax.complex(magnitude * jnp.cos(phase), magnitude * jnp.sin(phase))
    return mel_lib.inverse_stft(spectrum, cfg)


def peak_locked_phase(magnitude, cfg: mel_lib.MelConfig):
  """(..., frames, bins) STFT magnitudes -> phases, as a phase-locked vocoder (Laroche & Dolson
  1999) makes them from magnitudes alone.

  Each bin belongs to its nearest spectral peak. All bins of one peak share a phase about the
  frame's centre, as the bins of one windowed sinusoid do; that phase advances each hop by the
  peak's frequency (a parabola through the log-magnitudes refines it between bins), starting
  from the previous frame's phase at the peak's bin, so a harmonic whose peak moves between
  bins keeps its phase. Bins of a frame then add coherently, unlike independent per-bin phases.
  """
  log_magnitude = jnp.log(jnp.maximum(magnitude, cfg.log_floor))
  peak, frequency = _nearest_peaks(log_magnitude)
  advance = 2 * np.pi * cfg.hop_length / cfg.n_fft * frequency  # radians per hop

  def next_frame(previous, frame):
    (previous_phase, previous_advance), (frame_peak, frame_advance) = previous, frame
    at_peak = lambda x: jnp.take_along_axis(x, frame_peak, axis=-1)
    # The mean of the two frames' frequencies: the phase of a gliding harmonic.
    phase = at_peak(previous_phase) + 0.5 * (at_peak(previous_advance) + frame_advance)
    phase = jnp.mod(phase, 2 * np.pi)  # float32 phases of long utterances would lose precision
    return (phase, frame_advance), phase

  frames_first = lambda x: jnp.moveaxis(x, -2, 0)
  first = frames_first(advance)[0]
  _, centred = jax.lax.scan(next_frame, (jnp.zeros_like(first), first),
                            (frames_first(peak), frames_first(advance)))
  # A window centred in the frame turns the phase of bin k by pi * k about the frame's start.
  return jnp.moveaxis(centred, 0, -2) + np.pi * np.arange(log_magnitude.shape[-1])


def _nearest_peaks(log_magnitude):
  """(index of each bin's nearest local maximum, that maximum's frequency in bins)."""
  bins = log_magnitude.shape[-1]
  index = jnp.arange(bins)
  pad = [(0, 0)] * (log_magnitude.ndim - 1)
  below = jnp.pad(log_magnitude[..., :-1], pad + [(1, 0)], constant_values=-np.inf)
  above = jnp.pad(log_magnitude[..., 1:], pad + [(0, 1)], constant_values=-np.inf)
  is_peak = (log_magnitude >= below) & (log_magnitude > above)
  axis = log_magnitude.ndim - 1
  # Far sentinels where a side has no peak, so the other side's wins.
  left = jax.lax.cummax(jnp.where(is_peak, index, -bins), axis=axis)
  right = -jax.lax.cummax(jnp.where(is_peak, -index, -2 * bins), axis=axis, reverse=True)
  peak = jnp.clip(jnp.where(index - left <= right - index, left, right), 0, bins - 1)
  curvature = below - 2 * log_magnitude + above  # finite and < 0 at inner peaks
  inner = jnp.isfinite(curvature) & (curvature < 0)
  shift = jnp.where(inner, 0.5 * (below - above) / jnp.where(inner, curvature, -1.0), 0.0)
  shift = jnp.clip(shift, -0.5, 0.5)
  return peak, peak + jnp.take_along_axis(shift, peak, axis=-1)


class PeriodDiscriminator(nn.Module):
  """Scores the waveform folded into (T / period, period): periodic structure of voiced speech."""
  period: int
  channels: Sequence[int]
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, audio):
    batch, length = audio.shape
    pad = -length % self.period
    x = jnp.pad(audio, ((0, 0), (0, pad)), mode="reflect")
    x = x.reshape(batch, (length + pad) // self.period, self.period, 1).astype(self.dtype)
    features = []
    for channels in self.channels:
      x = nn.leaky_relu(nn.Conv(channels, (5, 1), strides=(3, 1), dtype=self.dtype)(x), _SLOPE)
      features.append(x)
    x = nn.leaky_relu(nn.Conv(self.channels[-1], (5, 1), dtype=self.dtype)(x), _SLOPE)
    features.append(x)
    return nn.Conv(1, (3, 1), dtype=self.dtype)(x).astype(jnp.float32), features


class ScaleDiscriminator(nn.Module):
  """Scores the waveform with strided 1D convs (MelGAN's discriminator).

  MelGAN uses grouped kernel-41 convs; on CPU those are ~10x slower than the dense kernel-15
  convs used here at these widths.
  """
  channels: Sequence[int]
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, audio):
    x = audio[..., None].astype(self.dtype)
    features = []
    for i, channels in enumerate(self.channels):
      x = nn.Conv(channels, (15,), strides=(1 if i == 0 else 4,), dtype=self.dtype)(x)
      x = nn.leaky_relu(x, _SLOPE)
      features.append(x)
    x = nn.leaky_relu(nn.Conv(self.channels[-1], (5,), dtype=self.dtype)(x), _SLOPE)
    features.append(x)
    return nn.Conv(1, (3,), dtype=self.dtype)(x).astype(jnp.float32), features


class Discriminators(nn.Module):
  """All period and scale discriminators: a list of (logits, feature maps), one per
  discriminator."""
  periods: Sequence[int]
  num_scales: int
  period_channels: Sequence[int]
  scale_channels: Sequence[int]
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, audio):
    outputs = [PeriodDiscriminator(p, tuple(self.period_channels), self.dtype)(audio)
               for p in self.periods]
    for scale in range(self.num_scales):
      if scale:
        audio = nn.avg_pool(audio[..., None], (4,), strides=(2,), padding="SAME")[..., 0]
      outputs.append(ScaleDiscriminator(tuple(self.scale_channels), self.dtype)(audio))
    return outputs


def discriminator_loss(real_outputs, fake_outputs):
  """Least-squares GAN: real -> 1, fake -> 0, summed over discriminators."""
  return sum(jnp.mean((1 - real) ** 2) + jnp.mean(fake ** 2)
             for (real, _), (fake, _) in zip(real_outputs, fake_outputs))


def generator_losses(real_outputs, fake_outputs):
  """(adversarial, feature matching): fake -> 1; L1 between real and fake feature maps."""
  adversarial = sum(jnp.mean((1 - fake) ** 2) for fake, _ in fake_outputs)
  matching = sum(jnp.mean(jnp.abs(jax.lax.stop_gradient(r) - f))
                 for (_, real_maps), (_, fake_maps) in zip(real_outputs, fake_outputs)
                 for r, f in zip(real_maps, fake_maps))
  return adversarial, matching
