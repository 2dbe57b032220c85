"""Stage 1 of the image domain, trained on Y alone: a VQ tokenizer, images -> code grid -> images.

A conv encoder (`models.Encoder`) maps each image to a grid of vectors, each replaced by its
nearest code of an EMA codebook (`abstractions.vq`: k-means++ initialisation on the first batch,
dead-code restarts), and a conv decoder maps the codes back; commitment loss, and optionally a
hinge-GAN patch discriminator from `adversarial.start_step`. Trained, it provides `VQTokenizer`:
a stage 2's abstraction of images as code ids.
"""

import jax
import jax.numpy as jnp

from regen_jax.abstractions import vq
from regen_jax.abstractions.pixels import check_images
from regen_jax.domains.image.data import ImageStage, to_float
from regen_jax.domains.image.models import Decoder, Encoder, PatchDiscriminator
from regen_jax.errors import UserError
from regen_jax.evaluate import images as image_io
from regen_jax.evaluate.metrics import psnr_per_image
from regen_jax.stages.abstraction import Abstraction, AbstractionStage, weights_fingerprint
from regen_jax.stages.specs import TokenSpec

_NUM_RECONSTRUCTIONS_SHOWN = 32


class VQTokenizer(Abstraction):
  """Images <-> code ids (batch, h, w, 1) of a trained tokenizer."""

  def __init__(self, stage, params, vq_state, step: int):
    self._stage, self._params, self._vq_state = stage, params, vq_state
    self.image_shape = stage.image_shape
    self.spec = TokenSpec(vocab_size=stage.config.vq.codebook_size, grid=stage.grid)
    self.fingerprint = weights_fingerprint("vq", step, (params, vq_state))
    self._encode = jax.jit(lambda p, s, x: stage.encode(p, s, x)[..., None])
    self._decode = jax.jit(self.decoder()[0])

  def encode(self, images):
    return self._encode(self._params, self._vq_state, check_images(images, self.image_shape))

  def decode(self, tokens):
    return self._decode(self.decoder()[1], tokens)

  def decoder(self):
    """(decode(weights, ids (B, h, w, 1)) -> images in [0, 1], weights): the decoder and the
    codebook, the weights it reads."""
    stage = self._stage

    def decode(weights, ids):
      return jnp.clip(stage.decode(weights["params"], weights["vq_state"], ids[..., 0]), 0, 1)

    return decode, {"params": {"decoder": self._params["decoder"]},
                    "vq_state": {"codebook": self._vq_state["codebook"]}}


class Tokenizer(ImageStage, AbstractionStage):
  progress_keys = ("recon_mse", "perplexity", "restarted_codes")
  defining_keys = ("model", "vq", "dataset")

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
    self._reconstruct = jax.jit(lambda p, s, x: self.decode(p, s, self.encode(p, s, x)))

  # ---- the abstraction, given params and codebook state
  def encode(self, params, vq_state, images):
    """uint8 images -> code ids (B, h, w)."""
    z = self.encoder.apply({"params": params["encoder"]}, to_float(images))
    return vq.nearest(vq_state["codebook"], z)

  def decode(self, params, vq_state, ids):
    return self.decoder.apply({"params": params["decoder"]}, vq_state["codebook"][ids])

  def abstraction(self, params, model_state, step):
    return VQTokenizer(self, params, model_state, step)

  # ---- training
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

  # ---- evaluation
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

  def write_reconstructions(self, params, vq_state, path):
    """Validation images (upper half) above their reconstructions (lower half)."""
    originals = self.eval_arrays["image"][:_NUM_RECONSTRUCTIONS_SHOWN]
    recon = self._reconstruct(params, vq_state, originals)
    shown = jnp.concatenate([to_float(originals), jnp.clip(recon, 0, 1)])
    image_io.save_grid(path, shown, rows=8)

  def on_eval(self, params, vq_state, step, full=False):
    del full
    self.write_reconstructions(params, vq_state, self.sample_path("reconstructions", step))
    return {}

  def sample(self, params, model_state, path):
    """Validation images above their reconstructions, as a PNG."""
    self.write_reconstructions(params, model_state, path)
    return [path]
