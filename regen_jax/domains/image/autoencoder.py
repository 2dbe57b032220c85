"""Stage 1 of the image domain's continuous route, trained on Y alone: a KL autoencoder, images ->
a 7x7xC grid of Gaussian latents -> images (as latent diffusion's first stage).

The conv encoder (`models.Encoder`) gives each position a diagonal Gaussian posterior (mean and
log-variance); the decoder reconstructs from a sample of it; the loss is the reconstruction's
mean squared error plus `kl.weight` x the KL divergence to N(0, I) per latent value (small: the
latents stay informative, and their scale is corrected afterwards instead). The latents' mean
and standard deviation are measured on the training batches (an EMA of the posterior means,
`kl.stats_decay`) and stored in the checkpoint: this is the "scale factor" of latent diffusion
(0.18215 for Stable Diffusion's autoencoder), measured here, not copied. With
`config.adversarial` (the paper-size config) a hinge-GAN patch discriminator joins from
`adversarial.start_step` (`models.PatchAdversary`, shared with the VQ tokenizer). Trained, it
provides `KLLatents`: a stage 2's abstraction of images as standardised posterior means.
"""

import jax
import jax.numpy as jnp

from regen_jax.abstractions.pixels import check_images
from regen_jax.domains.image.data import ImageStage, to_float
from regen_jax.domains.image.models import Decoder, Encoder, PatchAdversary
from regen_jax.evaluate.metrics import psnr_per_image
from regen_jax.stages.abstraction import Abstraction, AbstractionStage, weights_fingerprint
from regen_jax.stages.specs import LatentSpec

_LOG_VARIANCE_RANGE = (-30.0, 20.0)  # latent diffusion's clip: exp() stays finite


def kl_per_value(mean, log_variance):
  """KL(N(mean, exp(log_variance)) || N(0, 1)) of each latent value."""
  return 0.5 * (mean ** 2 + jnp.exp(log_variance) - 1 - log_variance)


def shift_and_scale(stats) -> tuple[float, float]:
  """(mean, standard deviation) of the latents from their stored moments."""
  mean = float(stats["latent_mean"])
  return mean, float(jnp.sqrt(jnp.maximum(stats["latent_mean_square"] - mean ** 2, 1e-12)))


class KLLatents(Abstraction):
  """uint8 images <-> standardised latents (posterior mean - shift) / scale, (B, h, w, C)."""

  def __init__(self, stage, params, stats, step: int):
    self._stage, self._params = stage, params
    self.image_shape = stage.image_shape
    shift, scale = shift_and_scale(stats)
    self.spec = LatentSpec(grid=stage.grid, channels=stage.config.model.latent_channels,
                           shift=shift, scale=scale, name="kl_latents")
    self.fingerprint = weights_fingerprint("kl", step, (params, stats))
    self._encode = jax.jit(lambda p, x: (stage.posterior(p, x)[0] - shift) / scale)
    self._decode = jax.jit(self.decoder()[0])

  def encode(self, images):
    return self._encode(self._params, check_images(images, self.image_shape))

  def decode(self, latents):
    return self._decode(self.decoder()[1], latents)

  def decoder(self):
    """(decode(weights, standardised latents) -> images in [0, 1], weights): the decoder's."""
    stage, spec = self._stage, self.spec

    def decode(weights, latents):
      return jnp.clip(stage.decode(weights, latents * spec.scale + spec.shift), 0, 1)

    return decode, {"decoder": self._params["decoder"]}


class KLAutoencoder(ImageStage, AbstractionStage):
  progress_keys = ("recon_mse", "kl")
  defining_keys = ("model", "kl", "dataset", "input")

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    model, dtype = config.model, jnp.dtype(config.compute_dtype)
    self.grid = self.downsampled_grid(model.channels)
    self.encoder = Encoder(tuple(model.channels), 2 * model.latent_channels, dtype)
    self.decoder = Decoder(tuple(model.channels), self.image_shape[-1], dtype)
    self.adversary = PatchAdversary.from_config(config, dtype)  # absent in the CPU configs
    self._reconstruct = jax.jit(lambda p, x: self.decode(p, self.posterior(p, x)[0]))

  # ---- the abstraction, given params
  def posterior(self, params, images):
    """uint8 images -> (mean, log-variance) of the latents, each (B, h, w, C)."""
    moments = self.encoder.apply({"params": params["encoder"]}, to_float(images))
    mean, log_variance = jnp.split(moments, 2, axis=-1)
    return mean, jnp.clip(log_variance, *_LOG_VARIANCE_RANGE)

  def decode(self, params, latents):
    return self.decoder.apply({"params": params["decoder"]}, latents)

  def abstraction(self, params, model_state, step):
    return KLLatents(self, params, model_state, step)

  # ---- training
  def init(self, rng, batch):
    enc_rng, dec_rng = jax.random.split(rng)
    params = {"encoder": self.encoder.init(enc_rng, to_float(batch["image"]))["params"]}
    mean, _ = self.posterior(params, batch["image"])
    params["decoder"] = self.decoder.init(dec_rng, mean)["params"]
    if self.adversary:
      params["discriminator"] = self.adversary.init(jax.random.fold_in(rng, 2),
                                                    to_float(batch["image"]))
    return params, {"latent_mean": jnp.mean(mean), "latent_mean_square": jnp.mean(mean ** 2)}

  def phase(self, step):
    """With a patch GAN, whether its discriminator runs at `step` (one compiled step each)."""
    return self.adversary.active(step) if self.adversary else None

  def loss(self, params, stats, batch, rng, step, phase=None):
    del step
    images = to_float(batch["image"])
    mean, log_variance = self.posterior(params, batch["image"])
    latents = mean + jnp.exp(0.5 * log_variance) * jax.random.normal(rng, mean.shape)
    recon = self.decode(params, latents)
    recon_mse = jnp.mean((recon - images) ** 2)
    kl = jnp.mean(kl_per_value(mean, log_variance))
    decay, observed = self.config.kl.stats_decay, jax.lax.stop_gradient(mean)
    stats = {"latent_mean": decay * stats["latent_mean"] + (1 - decay) * jnp.mean(observed),
             "latent_mean_square": (decay * stats["latent_mean_square"]
                                    + (1 - decay) * jnp.mean(observed ** 2))}
    loss, metrics = recon_mse + self.config.kl.weight * kl, {"recon_mse": recon_mse, "kl": kl}
    if phase:
      adversarial, adv_metrics = self.adversary.loss(params, images, recon)
      loss, metrics = loss + adversarial, {**metrics, **adv_metrics}
    return loss, (metrics, stats)

  # ---- evaluation
  def eval_metrics(self, params, stats, batch):
    del stats
    images, mask = to_float(batch["image"]), batch["mask"]
    mean, log_variance = self.posterior(params, batch["image"])
    recon = jnp.clip(self.decode(params, mean), 0, 1)
    kl = jnp.mean(kl_per_value(mean, log_variance), axis=(1, 2, 3))
    return {"count": mask.sum(), "psnr": jnp.sum(mask * psnr_per_image(recon, images)),
            "mse": jnp.sum(mask * jnp.mean((recon - images) ** 2, axis=(1, 2, 3))),
            "kl": jnp.sum(mask * kl)}

  def summarize(self, sums):
    return {key: sums[key] / sums["count"] for key in ("psnr", "mse", "kl")}

  def on_eval(self, params, stats, step, full=False):
    """Reconstructions as a PNG; the latents' measured shift and scale."""
    del full
    self.write_reconstructions(self.sample_path("reconstructions", step),
                               lambda images: self._reconstruct(params, images))
    shift, scale = shift_and_scale(stats)
    return {"latent_shift": shift, "latent_scale": scale}

  def sample(self, params, model_state, path):
    """Validation images above their reconstructions, as a PNG."""
    self.write_reconstructions(path, lambda images: self._reconstruct(params, images))
    return [path]
