"""Stage 1 of the video domain, trained on clips alone: a causal (2+1)D convolutional tokenizer,
clips (T, H, W) -> a token grid (T/4, H/4, W/4 with the default config) -> clips, after
MAGVIT-v2's.

The quantizer is the image tokenizer's (`vq.quantizer`): "fsq", finite scalar quantization (the
default here, levels 8,5,5,5 = 1000 codes), or "ema", the EMA codebook. Evaluation reports
reconstruction PSNR (over every frame of every clip), codebook usage and perplexity, and, in
`evaluate`, PSNR on a real camera clip (`camera.sample_clip_path`), which the tokenizer never
saw: footage, not moving garments.
"""

import jax
import jax.numpy as jnp
import numpy as np

from regen_jax.abstractions import vq
from regen_jax.domains.image.tokenizer import make_quantizer
from regen_jax.domains.video import camera, media
from regen_jax.domains.video.clips import ClipStage, to_float
from regen_jax.domains.video.models import Decoder, Encoder
from regen_jax.errors import UserError
from regen_jax.evaluate.metrics import psnr_per_image
from regen_jax.stages.abstraction import Abstraction, AbstractionStage, weights_fingerprint
from regen_jax.stages.base import SampleFlag
from regen_jax.stages.specs import TokenSpec

CLIP = SampleFlag("clip", str, "a video file (decoded with FFmpeg) or a .npy uint8 (T, H, W[, 1]) "
                               "array: the clip to reconstruct, or frame prediction's context")
_SHOWN = 8  # clips in a reconstruction GIF


def check_clips(clips, clip_shape) -> np.ndarray:
  """The one shape check a clip `encode` makes before touching a model."""
  clips = np.asarray(clips)
  if clips.ndim != 5 or tuple(clips.shape[1:]) != tuple(clip_shape) or clips.dtype != np.uint8:
    raise UserError(f"encode expects uint8 clips of shape (batch, "
                    f"{', '.join(map(str, clip_shape))}), got {clips.dtype} {clips.shape}")
  return clips


def psnr_per_clip(reconstruction, target):
  """PSNR in dB of each clip, over all its frames' pixels."""
  frames = lambda x: x.reshape(x.shape[0], -1, *x.shape[3:])
  return psnr_per_image(frames(reconstruction), frames(target))


class ClipTokens(Abstraction):
  """Clips <-> token ids (batch, t, h, w, 1) of a trained tokenizer."""

  def __init__(self, stage, params, quantizer_state, step: int):
    self._stage, self._params, self._state = stage, params, quantizer_state
    self.clip_shape = stage.clip_shape
    self.spec = TokenSpec(vocab_size=stage.quantizer.vocab_size, grid=stage.grid,
                          tokens_per_position=stage.tokens_per_position)
    self.fingerprint = weights_fingerprint(stage.quantizer.fingerprint_kind, step,
                                           (params, quantizer_state))
    self._encode = jax.jit(stage.encode)
    self._decode = jax.jit(self.decoder()[0])

  def encode(self, clips):
    return self._encode(self._params, self._state, check_clips(clips, self.clip_shape))

  def decode(self, tokens):
    return self._decode(self.decoder()[1], tokens)

  def decoder(self):
    """(decode(weights, ids (B, t, h, w, tokens_per_position)) -> clips in [0, 1], weights)."""
    stage = self._stage

    def decode(weights, ids):
      return jnp.clip(stage.decode(weights["params"], weights["quantizer"], ids), 0, 1)

    return decode, {"params": {"decoder": self._params["decoder"]},
                    "quantizer": stage.quantizer.decoding_state(self._state)}


class VideoTokenizer(ClipStage, AbstractionStage):
  defining_keys = ("model", "vq", "dataset")
  sample_flags = (CLIP,)
  sample_suffix = ".gif"

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    model = config.model
    self.grid = self._token_grid(len(model.channels) - 1, model.time_downsamplings)
    self.quantizer = make_quantizer(config)
    self.tokens_per_position = model.tokens_per_position
    self.progress_keys = ("recon_mse", "perplexity", *self.quantizer.progress_keys)
    dtype = jnp.dtype(config.compute_dtype)
    self.encoder = Encoder(tuple(model.channels), model.time_downsamplings,
                           model.code_dim * model.tokens_per_position, dtype)
    self.decoder = Decoder(tuple(model.channels), model.time_downsamplings, self.clip_shape[-1],
                           dtype)
    self._reconstruct = jax.jit(lambda p, s, x: self.decode(p, s, self.encode(p, s, x)))

  def _token_grid(self, downsamplings: int, time_downsamplings: int) -> tuple[int, int, int]:
    if not 0 <= time_downsamplings <= downsamplings:
      raise UserError(f"model.time_downsamplings must be in [0, {downsamplings}] (the "
                      f"downsamplings of model.channels), got {time_downsamplings}")
    factors = (2 ** time_downsamplings, 2 ** downsamplings, 2 ** downsamplings)
    if any(size % factor for size, factor in zip(self.clip_shape[:3], factors)):
      raise UserError(f"downsampling by {'x'.join(map(str, factors))} (model.channels, "
                      f"model.time_downsamplings) does not divide clips of "
                      f"{'x'.join(map(str, self.clip_shape[:3]))}")
    return tuple(size // factor for size, factor in zip(self.clip_shape[:3], factors))

  # ---- the abstraction
  def _vectors(self, params, clips):
    """uint8 clips -> the encoder's vectors, `tokens_per_position` per position
    (B, t, h, w, tokens_per_position, code_dim), each quantized on its own."""
    z = self.encoder.apply({"params": params["encoder"]}, to_float(clips))
    return z.reshape(*z.shape[:-1], self.tokens_per_position, -1)

  def _decode_codes(self, params, codes):
    return self.decoder.apply({"params": params["decoder"]}, codes.reshape(*codes.shape[:-2], -1))

  def encode(self, params, quantizer_state, clips):
    """uint8 clips -> token ids (B, t, h, w, tokens_per_position)."""
    return self.quantizer.ids(quantizer_state, self._vectors(params, clips))

  def decode(self, params, quantizer_state, ids):
    return self._decode_codes(params, self.quantizer.codes(quantizer_state, ids))

  def abstraction(self, params, model_state, step):
    return ClipTokens(self, params, model_state, step)

  # ---- training
  def init(self, rng, batch):
    enc_rng, dec_rng, kmeans_rng = jax.random.split(rng, 3)
    params = {"encoder": self.encoder.init(enc_rng, to_float(batch["video"]))["params"]}
    z = self._vectors(params, batch["video"])
    params["decoder"] = self.decoder.init(dec_rng, z.reshape(*z.shape[:-2], -1))["params"]
    return params, self.quantizer.init(z, kmeans_rng)

  def loss(self, params, quantizer_state, batch, rng, step):
    del step
    clips = to_float(batch["video"])
    z = self._vectors(params, batch["video"])
    ids, straight_through, commitment = self.quantizer.quantize(quantizer_state, z)
    recon = self._decode_codes(params, straight_through)
    recon_mse = jnp.mean((recon - clips) ** 2)
    counts = jnp.bincount(ids.reshape(-1), length=self.quantizer.vocab_size)
    quantizer_state, quantizer_metrics = self.quantizer.update(quantizer_state, z, ids, rng)
    usage, perplexity = vq.usage_and_perplexity(counts)
    metrics = {"recon_mse": recon_mse, "commitment": commitment, "batch_usage": usage,
               "perplexity": perplexity, **quantizer_metrics}
    loss = recon_mse + self.config.vq.commitment_cost * commitment
    return loss, (metrics, quantizer_state)

  # ---- evaluation
  def eval_metrics(self, params, quantizer_state, batch):
    clips, mask = to_float(batch["video"]), batch["mask"]
    ids = self.encode(params, quantizer_state, batch["video"])
    recon = jnp.clip(self.decode(params, quantizer_state, ids), 0, 1)
    flat_ids = ids.reshape(ids.shape[0], -1)
    counts = jnp.zeros(self.quantizer.vocab_size).at[flat_ids].add(
        jnp.broadcast_to(mask[:, None], flat_ids.shape))
    mse = jnp.mean((recon - clips) ** 2, axis=(1, 2, 3, 4))
    return {"count": mask.sum(), "psnr": jnp.sum(mask * psnr_per_clip(recon, clips)),
            "mse": jnp.sum(mask * mse), "code_counts": counts}

  def summarize(self, sums):
    usage, perplexity = vq.usage_and_perplexity(sums["code_counts"])
    return {"psnr": sums["psnr"] / sums["count"], "mse": sums["mse"] / sums["count"],
            "codebook_usage": usage, "perplexity": perplexity}

  def reconstruct(self, params, quantizer_state, clips) -> np.ndarray:
    """Reconstructions in [0, 1] of uint8 clips."""
    return np.clip(np.asarray(self._reconstruct(params, quantizer_state, clips)), 0, 1)

  def camera_clip(self) -> np.ndarray:
    """The real camera clip at this tokenizer's clip shape, (1, T, H, W, 1) uint8."""
    frames, height = self.clip_shape[:2]
    return camera.read_clip(camera.sample_clip_path(), frames, height)[None]

  def on_eval(self, params, quantizer_state, step, full=False):
    """Writes originals above reconstructions as a GIF; in `evaluate`, also scores the real
    camera clip."""
    originals = self.eval_arrays["video"][:_SHOWN]
    shown = np.concatenate([to_float(originals), self.reconstruct(params, quantizer_state,
                                                                  originals)])
    media.save_gif(self.output_path(f"reconstructions_{step:07d}.gif"), shown, rows=2)
    if not full:
      return {}
    real = self.camera_clip()
    recon = self.reconstruct(params, quantizer_state, real)
    return {"camera_clip_psnr": float(psnr_per_clip(recon, to_float(real))[0])}

  def sample(self, params, model_state, path, clip=None):
    """A GIF of a clip above its reconstruction: `--clip FILE`, else the real camera clip."""
    frames, size = self.clip_shape[:2]
    original = (camera.read_clip_file(clip, frames, size)[None] if clip
                else self.camera_clip())
    recon = self.reconstruct(params, model_state, original)
    return media.save_gif_and_strip(path, np.concatenate([to_float(original), recon]), rows=1)
