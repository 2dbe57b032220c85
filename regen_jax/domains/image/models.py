"""Image networks: the stage 1s' convolutional encoder/decoder and patch discriminator (with its
hinge-GAN loss), and the evaluation classifier whose penultimate features are the space of the
Fréchet distance."""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class ResBlock(nn.Module):
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    features = x.shape[-1]
    h = x
    for _ in range(2):
      h = nn.swish(nn.GroupNorm(num_groups=min(8, features), dtype=self.dtype)(h))
      h = nn.Conv(features, (3, 3), dtype=self.dtype)(h)
    return x + h


class Encoder(nn.Module):
  """(B, H, W, C) images in [0, 1] -> (B, H / 2^L, W / 2^L, code_dim), L = len(channels) - 1."""
  channels: Sequence[int]
  code_dim: int
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, images):
    # Residual blocks only below full resolution: that is where a CPU can afford them.
    x = nn.Conv(self.channels[0], (3, 3), dtype=self.dtype)(images * 2.0 - 1.0)
    for features in self.channels[1:]:
      x = nn.Conv(features, (4, 4), strides=(2, 2), dtype=self.dtype)(x)
      x = ResBlock(self.dtype)(x)
    x = nn.swish(nn.GroupNorm(num_groups=min(8, x.shape[-1]), dtype=self.dtype)(x))
    return nn.Conv(self.code_dim, (1, 1), dtype=jnp.float32)(x)


class Decoder(nn.Module):
  """Inverse of `Encoder`: code vectors -> images (unbounded; ~[0, 1] once trained)."""
  channels: Sequence[int]
  out_channels: int
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, codes):
    x = nn.Conv(self.channels[-1], (3, 3), dtype=self.dtype)(codes)
    for features in reversed(self.channels[:-1]):
      x = ResBlock(self.dtype)(x)
      # Nearest upsampling: cheap to differentiate.
      x = jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)
      x = nn.Conv(features, (3, 3), dtype=self.dtype)(x)
    x = nn.swish(nn.GroupNorm(num_groups=min(8, x.shape[-1]), dtype=self.dtype)(x))
    return nn.Conv(self.out_channels, (3, 3), dtype=jnp.float32)(x)


class PatchDiscriminator(nn.Module):
  """Real/fake logits per image patch (hinge GAN loss)."""
  channels: Sequence[int] = (32, 64)
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, images):
    x = images * 2.0 - 1.0
    for features in self.channels:
      x = nn.leaky_relu(nn.Conv(features, (4, 4), strides=(2, 2), dtype=self.dtype)(x), 0.2)
    return nn.Conv(1, (3, 3), dtype=jnp.float32)(x)


class PatchAdversary:
  """A hinge-GAN patch discriminator beside an image stage 1's reconstruction loss (VQGAN, latent
  diffusion's autoencoders): from `settings.start_step`, the generator term weighted by
  `settings.weight`; its parameters are the stage's `params["discriminator"]`. The stage's loss
  phase (`Stage.phase`) is `active(step)`, so no step before the start runs the discriminator."""

  def __init__(self, settings, dtype):
    self.settings, self.discriminator = settings, PatchDiscriminator(dtype=dtype)

  @classmethod
  def from_config(cls, config, dtype) -> "PatchAdversary | None":
    """None unless `config.adversarial` is present with a weight > 0."""
    settings = config.get("adversarial")
    return cls(settings, dtype) if settings and settings.weight > 0 else None

  def init(self, rng, images):
    return self.discriminator.init(rng, images)["params"]

  def active(self, step: int) -> bool:
    return step >= self.settings.start_step

  def loss(self, params, images, recon):
    """Hinge GAN in one backward pass: each term sees the other player's values as constants."""
    disc = lambda p, x: self.discriminator.apply({"params": p}, x)
    fake_for_generator = disc(jax.lax.stop_gradient(params["discriminator"]), recon)
    generator = -jnp.mean(fake_for_generator)
    discriminator = (jnp.mean(jax.nn.relu(1 - disc(params["discriminator"], images)))
                     + jnp.mean(jax.nn.relu(1 + disc(params["discriminator"],
                                                     jax.lax.stop_gradient(recon)))))
    loss = self.settings.weight * generator + discriminator
    return loss, {"generator_adv": generator, "discriminator": discriminator}


class Classifier(nn.Module):
  num_classes: int
  channels: tuple[int, ...] = (16, 32)  # a 3x3 conv pair, then 2x2 max-pool, per entry
  feature_dim: int = 128
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, images):
    """Returns (logits, features) for images in [0, 1]."""
    x = images * 2.0 - 1.0
    for features in self.channels:
      x = nn.relu(nn.Conv(features, (3, 3), dtype=self.dtype)(x))
      x = nn.relu(nn.Conv(features, (3, 3), dtype=self.dtype)(x))
      x = nn.max_pool(x, (2, 2), strides=(2, 2))
    x = x.reshape(x.shape[0], -1)
    features = nn.relu(nn.Dense(self.feature_dim, dtype=self.dtype)(x))
    return nn.Dense(self.num_classes, dtype=jnp.float32)(features), features.astype(jnp.float32)
