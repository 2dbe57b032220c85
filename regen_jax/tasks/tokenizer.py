"""Stage 1 of the image domain, trained on Y alone: VQ tokenizer images -> code grid -> images."""

import jax
import jax.numpy as jnp
import ml_collections

from regen_jax.abstractions import vq
from regen_jax.errors import UserError
from regen_jax.evaluate import images as image_io
from regen_jax.evaluate.metrics import psnr_per_image
from regen_jax.models.conv_autoencoder import Decoder, Encoder, PatchDiscriminator
from regen_jax.tasks.base import ImageTask, to_float
from regen_jax.train import config as config_lib

_NUM_RECONSTRUCTIONS_SHOWN = 32


def default_config(test: bool) -> ml_collections.ConfigDict:
  """28x28 -> 7x7 codes of a 256-entry codebook; `test`: a tiny variant that runs in seconds."""
  config = config_lib.base(test)
  config.task = "tokenizer"
  config.abstraction = "vq_tokenizer"  # how a stage 2 loads this stage (regen_jax/abstractions)
  config.num_steps = 20 if test else 800  # ≈ 3 min on 2 CPU cores, ≈ 23 dB validation PSNR
  config.batch_size = 16 if test else 64
  config.eval_every = 10 if test else 400
  config.optimizer.learning_rate = 2e-3

  config.model = ml_collections.ConfigDict()
  config.model.channels = (8, 16) if test else (16, 32, 64)  # one stride-2 per extra entry
  config.model.code_dim = 8 if test else 16

  config.vq = ml_collections.ConfigDict()
  config.vq.codebook_size = 32 if test else 256
  config.vq.commitment_cost = 0.25
  config.vq.ema_decay = 0.99
  config.vq.dead_code_threshold = 1.0  # EMA count per batch below which a code is restarted
  config.vq.kmeans_iterations = 10

  config.adversarial = ml_collections.ConfigDict()
  config.adversarial.weight = 0.0  # > 0 adds a patch discriminator (hinge loss)
  config.adversarial.start_step = 5 if test else 1000
  return config


class Task(ImageTask):
  progress_keys = ("recon_mse", "perplexity", "restarted_codes")

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    model, dtype = config.model, jnp.dtype(config.compute_dtype)
    downsample = 2 ** (len(model.channels) - 1)
    height, width, channels = self.image_shape
    if height % downsample or width % downsample:
      raise UserError(f"{len(model.channels) - 1} downsamplings (model.channels) do not divide "
                      f"images of {height}x{width}")
    self.grid = (height // downsample, width // downsample)
    self.encoder = Encoder(tuple(model.channels), model.code_dim, dtype)
    self.decoder = Decoder(tuple(model.channels), channels, dtype)
    self.discriminator = PatchDiscriminator(dtype=dtype) if config.adversarial.weight > 0 else None

  # ---- the stage contract, given params and codebook state ----
  def encode(self, params, vq_state, images):
    """uint8 images -> code ids (B, h, w)."""
    z = self.encoder.apply({"params": params["encoder"]}, to_float(images))
    return vq.nearest(vq_state["codebook"], z)

  def decode(self, params, vq_state, ids):
    return self.decoder.apply({"params": params["decoder"]}, vq_state["codebook"][ids])

  def export_decoder(self, params, vq_state):
    """(decode(decoder_params, ids (B, h, w, 1)) -> images in [0, 1], decoder_params): what
    the stage contract's `decode` computes, with only the weights it reads as arguments."""
    def decode(weights, ids):
      return jnp.clip(self.decode(weights["params"], weights["vq_state"], ids[..., 0]), 0, 1)
    return decode, {"params": {"decoder": params["decoder"]},
                    "vq_state": {"codebook": vq_state["codebook"]}}

  # ---- training ----
  def init(self, rng, batch):
    images = to_float(batch["image"])
    enc_rng, dec_rng, disc_rng, kmeans_rng = jax.random.split(rng, 4)
    params = {"encoder": self.encoder.init(enc_rng, images)["params"]}
    z = self.encoder.apply({"params": params["encoder"]}, images)
    params["decoder"] = self.decoder.init(dec_rng, z)["params"]
    if self.discriminator:
      params["discriminator"] = self.discriminator.init(disc_rng, images)["params"]
    codebook = vq.kmeans(z.reshape(-1, z.shape[-1]), self.config.vq.codebook_size, kmeans_rng,
                         self.config.vq.kmeans_iterations)
    return params, vq.init_state(codebook)

  def loss(self, params, vq_state, batch, rng, step):
    cfg = self.config
    images = to_float(batch["image"])
    z = self.encoder.apply({"params": params["encoder"]}, images)
    ids, quantized = vq.quantize(vq_state["codebook"], z)
    straight_through = z + jax.lax.stop_gradient(quantized - z)
    recon = self.decoder.apply({"params": params["decoder"]}, straight_through)
    recon_mse = jnp.mean((recon - images) ** 2)
    commitment = jnp.mean((z - jax.lax.stop_gradient(quantized)) ** 2)
    loss = recon_mse + cfg.vq.commitment_cost * commitment
    metrics = {"recon_mse": recon_mse, "commitment": commitment}
    if self.discriminator:
      adversarial, adv_metrics = self._adversarial_loss(params, images, recon, step)
      loss, metrics = loss + adversarial, {**metrics, **adv_metrics}

    vectors = jax.lax.stop_gradient(z).reshape(-1, z.shape[-1])
    counts = jnp.bincount(ids.reshape(-1), length=cfg.vq.codebook_size)
    vq_state = vq.ema_update(vq_state, vectors, ids.reshape(-1), cfg.vq.ema_decay)
    vq_state, restarted = vq.restart_dead_codes(vq_state, vectors, rng, cfg.vq.dead_code_threshold)
    metrics["batch_usage"], metrics["perplexity"] = vq.usage_and_perplexity(counts)
    metrics["restarted_codes"] = restarted
    return loss, (metrics, vq_state)

  def _adversarial_loss(self, params, images, recon, step):
    """Hinge GAN in one backward pass: each term sees the other player's values as constants."""
    disc = lambda p, x: self.discriminator.apply({"params": p}, x)
    fake_for_generator = disc(jax.lax.stop_gradient(params["discriminator"]), recon)
    generator = -jnp.mean(fake_for_generator)
    discriminator = (jnp.mean(jax.nn.relu(1 - disc(params["discriminator"], images)))
                     + jnp.mean(jax.nn.relu(1 + disc(params["discriminator"],
                                                     jax.lax.stop_gradient(recon)))))
    active = (step >= self.config.adversarial.start_step).astype(jnp.float32)
    loss = active * (self.config.adversarial.weight * generator + discriminator)
    return loss, {"generator_adv": generator, "discriminator": discriminator}

  # ---- evaluation ----
  def eval_metrics(self, params, vq_state, batch):
    images, mask = to_float(batch["image"]), batch["mask"]
    ids = self.encode(params, vq_state, batch["image"])
    recon = self.decode(params, vq_state, ids)
    flat_ids = ids.reshape(ids.shape[0], -1)
    counts = jnp.zeros(self.config.vq.codebook_size).at[flat_ids].add(
        jnp.broadcast_to(mask[:, None], flat_ids.shape))
    mse = jnp.mean((jnp.clip(recon, 0, 1) - images) ** 2, axis=(1, 2, 3))
    return {"count": mask.sum(), "psnr": jnp.sum(mask * psnr_per_image(recon, images)),
            "mse": jnp.sum(mask * mse), "code_counts": counts}

  def summarize(self, sums):
    usage, perplexity = vq.usage_and_perplexity(sums["code_counts"])
    return {"psnr": sums["psnr"] / sums["count"], "mse": sums["mse"] / sums["count"],
            "codebook_usage": usage, "perplexity": perplexity}

  def write_samples(self, params, vq_state, path):
    """Validation images (upper half) above their reconstructions (lower half)."""
    originals = self.eval_arrays["image"][:_NUM_RECONSTRUCTIONS_SHOWN]
    recon = jax.jit(lambda p, s, x: self.decode(p, s, self.encode(p, s, x)))(
        params, vq_state, originals)
    shown = jnp.concatenate([to_float(originals), jnp.clip(recon, 0, 1)])
    image_io.save_grid(path, shown, rows=8)

  def on_eval(self, params, vq_state, step, full=False):
    del full
    self.write_samples(params, vq_state, self.sample_path("reconstructions", step))
    return {}
