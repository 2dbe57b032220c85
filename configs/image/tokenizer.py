"""Image stage 1 (Y -> Y′ -> Y): VQ tokenizer, 28x28 Fashion-MNIST -> 7x7 codes of 256.

  python -m regen_jax train --config configs/image/tokenizer.py --workdir runs/image/tokenizer
Arguments: quantizer=fsq (finite scalar quantization onto `vq.fsq_levels`, 8x5x5x5 = 1000 codes
and model.code_dim 4, instead of the EMA codebook; `quantizer=ema` is the default), test (tiny:
seconds on a CPU; FSQ levels 5x3x3), paper: a VQGAN-f16-like size for 256x256 RGB (128-128-256-
256-512 channels, 16x16 codes of 1024, 256-d, with the patch GAN) on TFDS imagenet2012, streamed
and cropped to 256x256 as autoencoder.py:paper does.
"""

import ml_collections

from regen_jax.core import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg, quantizer="ema", paper=False)
  config = config_lib.base()
  config.stage = "regen_jax.domains.image.tokenizer:Tokenizer"
  config.dataset = "regen_fashion_mnist/full"
  config.num_steps = 800  # ≈ 3 min on 2 CPU cores, ≈ 23 dB validation PSNR
  config.batch_size = 64
  config.eval_every = 400
  config.optimizer.learning_rate = 2e-3

  config.model = ml_collections.ConfigDict()
  config.model.channels = (16, 32, 64)  # one stride-2 per extra entry
  config.model.code_dim = 16

  config.vq = ml_collections.ConfigDict()
  config.vq.quantizer = args.quantizer  # "ema" (EMA codebook) or "fsq" (fixed grid, no codebook)
  config.vq.codebook_size = 256  # ema
  config.vq.commitment_cost = 0.25  # ema (fsq has no commitment loss: logged as 0)
  config.vq.ema_decay = 0.99
  config.vq.dead_code_threshold = 1.0  # EMA count per batch below which a code is restarted
  config.vq.kmeans_iterations = 10
  # fsq: values per code channel, prod(levels) codes; model.code_dim must be len(fsq_levels)
  config.vq.fsq_levels = (8, 5, 5, 5)

  config.adversarial = ml_collections.ConfigDict()
  config.adversarial.weight = 0.0  # > 0 adds a patch discriminator (hinge loss)
  config.adversarial.start_step = 1000

  if args.paper:
    config.update_from_flattened_dict({
        "dataset": "imagenet2012", "batch_size": 64, "num_steps": 200_000,
        "optimizer.learning_rate": 4.5e-6 * 64, "model.channels": (128, 128, 256, 256, 512),
        "model.code_dim": 256, "vq.codebook_size": 1024, "adversarial.weight": 0.1,
        "adversarial.start_step": 30_000, "compute_dtype": "bfloat16",
        "num_eval_examples": 2000})
    # ImageNet's images come in many sizes: streamed, resized and cropped (data.ImageStage).
    config.input = ml_collections.ConfigDict({"image_size": 256, "workers": 8})
  if args.test:
    config.update_from_flattened_dict({
        **config_lib.TINY_LOOP, "dataset": "regen_fashion_mnist/tiny",
        "model.channels": (8, 16), "model.code_dim": 8, "vq.codebook_size": 32,
        "vq.fsq_levels": (5, 3, 3), "adversarial.start_step": 5})
  if args.quantizer == "fsq":
    config.model.code_dim = len(config.vq.fsq_levels)
  return config
