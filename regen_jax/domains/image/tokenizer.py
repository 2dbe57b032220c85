"""Stage 1 of the image domain, trained on Y alone: a VQ tokenizer, images -> code grid -> images.

A conv encoder (`models.Encoder`) maps each image to a grid of vectors, each replaced by a code,
and a conv decoder maps the codes back; optionally a hinge-GAN patch discriminator from
`adversarial.start_step`. `vq.quantizer` picks the codes: "ema", the nearest code of an EMA
codebook (`abstractions.vq`: k-means++ initialisation on the first batch, dead-code restarts, a
commitment loss), or "fsq", finite scalar quantization onto a fixed grid (`abstractions.fsq`: no
codebook, no commitment loss). Trained, it provides `VQTokenizer`: a stage 2's abstraction of
images as code ids.
"""

import jax
import jax.numpy as jnp

from regen_jax.abstractions import fsq, vq
from regen_jax.abstractions.pixels import check_images
from regen_jax.domains.image.data import ImageStage, to_float
from regen_jax.domains.image.models import Decoder, Encoder, PatchAdversary
from regen_jax.errors import UserError
from regen_jax.evaluate.metrics import psnr_per_image
from regen_jax.stages.abstraction import Abstraction, AbstractionStage, weights_fingerprint
from regen_jax.stages.specs import TokenSpec


class EmaQuantizer:
  """The nearest code of an EMA codebook, which is the model_state."""
  fingerprint_kind = "vq"
  progress_keys = ("restarted_codes",)

  def __init__(self, config):
    self.config = config.vq
    self.vocab_size = config.vq.codebook_size

  def init(self, z, rng):
    codebook = vq.kmeans(z.reshape(-1, z.shape[-1]), self.vocab_size, rng,
                         self.config.kmeans_iterations)
    return vq.init_state(codebook)

  def ids(self, state, z):
    return vq.nearest(state["codebook"], z)

  def codes(self, state, ids):
    return state["codebook"][ids]

  def decoding_state(self, state):
    """What `codes` reads of the state."""
    return {"codebook": state["codebook"]}

  def quantize(self, state, z):
    """(ids, codes with straight-through gradients to z, commitment loss) for training."""
    ids, quantized = vq.quantize(state["codebook"], z)
    straight_through = z + jax.lax.stop_gradient(quantized - z)
    commitment = jnp.mean((z - jax.lax.stop_gradient(quantized)) ** 2)
    return ids, straight_through, commitment

  def update(self, state, z, ids, rng):
    """(the state after this training batch, its metrics)."""
    vectors = jax.lax.stop_gradient(z).reshape(-1, z.shape[-1])
    state = vq.ema_update(state, vectors, ids.reshape(-1), self.config.ema_decay)
    state, restarted = vq.restart_dead_codes(state, vectors, rng, self.config.dead_code_threshold)
    return state, {"restarted_codes": restarted}


class FsqQuantizer:
  """Finite scalar quantization onto `vq.fsq_levels`: nothing learned, no state."""
  progress_keys = ()

  def __init__(self, config):
    self.levels = tuple(config.vq.fsq_levels)
    if config.model.code_dim != len(self.levels):
      raise UserError(f"vq.quantizer=fsq needs model.code_dim = len(vq.fsq_levels) = "
                      f"{len(self.levels)}, got {config.model.code_dim}")
    if min(self.levels) < 2:
      raise UserError(f"vq.fsq_levels must all be >= 2, got {self.levels}")
    self.vocab_size = fsq.codebook_size(self.levels)
    self.fingerprint_kind = "fsq" + "x".join(map(str, self.levels))

  def init(self, z, rng):
    return {}

  def ids(self, state, z):
    return fsq.codes_to_ids(fsq.quantize(z, self.levels), self.levels)

  def codes(self, state, ids):
    return fsq.ids_to_codes(ids, self.levels)

  def decoding_state(self, state):
    return {}

  def quantize(self, state, z):
    codes = fsq.quantize(z, self.levels)
    return fsq.codes_to_ids(codes, self.levels), codes, jnp.zeros(())

  def update(self, state, z, ids, rng):
    return state, {}


QUANTIZERS = {"ema": EmaQuantizer, "fsq": FsqQuantizer}


def make_quantizer(config):
  """The quantizer that `config.vq.quantizer` names."""
  if config.vq.quantizer not in QUANTIZERS:
    raise UserError(f"unknown vq.quantizer {config.vq.quantizer!r}; choose one of: "
                    f"{', '.join(QUANTIZERS)}")
  return QUANTIZERS[config.vq.quantizer](config)


class VQTokenizer(Abstraction):
  """Images <-> code ids (batch, h, w, 1) of a trained tokenizer."""

  def __init__(self, stage, params, vq_state, step: int):
    self._stage, self._params, self._vq_state = stage, params, vq_state
    self.image_shape = stage.image_shape
    self.spec = TokenSpec(vocab_size=stage.quantizer.vocab_size, grid=stage.grid)
    self.fingerprint = weights_fingerprint(stage.quantizer.fingerprint_kind, step,
                                           (params, vq_state))
    self._encode = jax.jit(lambda p, s, x: stage.encode(p, s, x)[..., None])
    self._decode = jax.jit(self.decoder()[0])

  def encode(self, images):
    return self._encode(self._params, self._vq_state, check_images(images, self.image_shape))

  def decode(self, tokens):
    return self._decode(self.decoder()[1], tokens)

  def decoder(self):
    """(decode(weights, ids (B, h, w, 1)) -> images in [0, 1], weights): the decoder and the
    codebook (if any), the weights it reads."""
    stage = self._stage

    def decode(weights, ids):
      return jnp.clip(stage.decode(weights["params"], weights["vq_state"], ids[..., 0]), 0, 1)

    return decode, {"params": {"decoder": self._params["decoder"]},
                    "vq_state": stage.quantizer.decoding_state(self._vq_state)}


class Tokenizer(ImageStage, AbstractionStage):
  defining_keys = ("model", "vq", "dataset", "input")

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    model, dtype = config.model, jnp.dtype(config.compute_dtype)
    self.grid = self.downsampled_grid(model.channels)
    self.quantizer = make_quantizer(config)
    self.progress_keys = ("recon_mse", "perplexity", *self.quantizer.progress_keys)
    self.encoder = Encoder(tuple(model.channels), model.code_dim, dtype)
    self.decoder = Decoder(tuple(model.channels), self.image_shape[-1], dtype)
    self.adversary = PatchAdversary.from_config(config, dtype)
    self._reconstruct = jax.jit(lambda p, s, x: self.decode(p, s, self.encode(p, s, x)))

  # ---- the abstraction, given params and the quantizer's state
  def encode(self, params, vq_state, images):
    """uint8 images -> code ids (B, h, w)."""
    z = self.encoder.apply({"params": params["encoder"]}, to_float(images))
    return self.quantizer.ids(vq_state, z)

  def decode(self, params, vq_state, ids):
    return self.decoder.apply({"params": params["decoder"]}, self.quantizer.codes(vq_state, ids))

  def abstraction(self, params, model_state, step):
    return VQTokenizer(self, params, model_state, step)

  # ---- training
  def init(self, rng, batch):
    images = to_float(batch["image"])
    enc_rng, dec_rng, disc_rng, kmeans_rng = jax.random.split(rng, 4)
    params = {"encoder": self.encoder.init(enc_rng, images)["params"]}
    z = self.encoder.apply({"params": params["encoder"]}, images)
    params["decoder"] = self.decoder.init(dec_rng, z)["params"]
    if self.adversary:
      params["discriminator"] = self.adversary.init(disc_rng, images)
    return params, self.quantizer.init(z, kmeans_rng)

  def phase(self, step):
    """With a patch GAN, whether its discriminator runs at `step` (one compiled step each)."""
    return self.adversary.active(step) if self.adversary else None

  def loss(self, params, vq_state, batch, rng, step, phase=None):
    del step
    cfg = self.config
    images = to_float(batch["image"])
    z = self.encoder.apply({"params": params["encoder"]}, images)
    ids, straight_through, commitment = self.quantizer.quantize(vq_state, z)
    recon = self.decoder.apply({"params": params["decoder"]}, straight_through)
    recon_mse = jnp.mean((recon - images) ** 2)
    loss = recon_mse + cfg.vq.commitment_cost * commitment
    metrics = {"recon_mse": recon_mse, "commitment": commitment}
    if phase:
      adversarial, adv_metrics = self.adversary.loss(params, images, recon)
      loss, metrics = loss + adversarial, {**metrics, **adv_metrics}

    counts = jnp.bincount(ids.reshape(-1), length=self.quantizer.vocab_size)
    vq_state, quantizer_metrics = self.quantizer.update(vq_state, z, ids, rng)
    metrics["batch_usage"], metrics["perplexity"] = vq.usage_and_perplexity(counts)
    return loss, ({**metrics, **quantizer_metrics}, vq_state)

  # ---- evaluation
  def eval_metrics(self, params, vq_state, batch):
    images, mask = to_float(batch["image"]), batch["mask"]
    ids = self.encode(params, vq_state, batch["image"])
    recon = self.decode(params, vq_state, ids)
    flat_ids = ids.reshape(ids.shape[0], -1)
    counts = jnp.zeros(self.quantizer.vocab_size).at[flat_ids].add(
        jnp.broadcast_to(mask[:, None], flat_ids.shape))
    mse = jnp.mean((jnp.clip(recon, 0, 1) - images) ** 2, axis=(1, 2, 3))
    return {"count": mask.sum(), "psnr": jnp.sum(mask * psnr_per_image(recon, images)),
            "mse": jnp.sum(mask * mse), "code_counts": counts}

  def summarize(self, sums):
    usage, perplexity = vq.usage_and_perplexity(sums["code_counts"])
    return {"psnr": sums["psnr"] / sums["count"], "mse": sums["mse"] / sums["count"],
            "codebook_usage": usage, "perplexity": perplexity}

  def on_eval(self, params, vq_state, step, full=False):
    del full
    self.write_reconstructions(self.sample_path("reconstructions", step),
                               lambda images: self._reconstruct(params, vq_state, images))
    return {}

  def sample(self, params, model_state, path):
    """Validation images above their reconstructions, as a PNG."""
    self.write_reconstructions(path, lambda images: self._reconstruct(params, model_state, images))
    return [path]
