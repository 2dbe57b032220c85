"""Image stage 1 of the continuous route (Y -> Y′ -> Y): KL autoencoder, 28x28 Fashion-MNIST ->
7x7x4 Gaussian latents.

  python -m regen_jax train --config configs/image/autoencoder.py --workdir runs/image/autoencoder
Arguments: test (tiny: seconds on a CPU); paper: latent diffusion's KL-f8 size for 256x256 RGB
(128-256-512-512 channels, 32x32x4 latents) on TFDS imagenet2012 (or --config.dataset=imagenette
…), its images of any size streamed by 8 worker processes, resized (shorter side 256) and
randomly cropped to 256x256 (`config.input`), with a patch GAN from step 50 001
(`config.adversarial`, absent in the CPU configs).
"""

import ml_collections

from regen_jax.core import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg, paper=False)
  config = config_lib.base()
  config.stage = "regen_jax.domains.image.autoencoder:KLAutoencoder"
  config.dataset = "regen_fashion_mnist/full"
  config.num_steps = 800
  config.batch_size = 64
  config.eval_every = 400
  config.optimizer.learning_rate = 2e-3

  config.model = ml_collections.ConfigDict()
  config.model.channels = (16, 32, 64)  # one stride-2 per extra entry
  config.model.latent_channels = 4

  config.kl = ml_collections.ConfigDict()
  config.kl.weight = 1e-4  # x KL per latent value, beside the per-pixel squared error
  config.kl.stats_decay = 0.99  # EMA of the latents' moments over training batches

  if args.paper:
    config.update_from_flattened_dict({
        "dataset": "imagenet2012", "batch_size": 64, "num_steps": 200_000,
        "optimizer.learning_rate": 4.5e-6 * 64, "model.channels": (128, 256, 512, 512),
        "compute_dtype": "bfloat16", "num_eval_examples": 2000})
    # ImageNet's images come in many sizes: streamed, resized and cropped (data.ImageStage).
    config.input = ml_collections.ConfigDict({"image_size": 256, "workers": 8})
    # A patch GAN from step 50 001, as latent diffusion's KL-f8 (a fixed weight here, where
    # theirs adapts to the gradient norms, and no perceptual loss).
    config.adversarial = ml_collections.ConfigDict({"weight": 0.1, "start_step": 50_001})
  if args.test:
    config.update_from_flattened_dict({
        **config_lib.TINY_LOOP, "dataset": "regen_fashion_mnist/tiny",
        "model.channels": (8, 16)})
  return config
