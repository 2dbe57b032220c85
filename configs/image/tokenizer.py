"""Image stage 1 (Y -> Y′ -> Y): VQ tokenizer, 28x28 Fashion-MNIST -> 7x7 codes of 256.

  python -m regen_jax train --config configs/image/tokenizer.py --workdir runs/image/tokenizer
Arguments: test (tiny: seconds on a CPU).
"""

import ml_collections

from regen_jax.core import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg)
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
  config.vq.codebook_size = 256
  config.vq.commitment_cost = 0.25
  config.vq.ema_decay = 0.99
  config.vq.dead_code_threshold = 1.0  # EMA count per batch below which a code is restarted
  config.vq.kmeans_iterations = 10

  config.adversarial = ml_collections.ConfigDict()
  config.adversarial.weight = 0.0  # > 0 adds a patch discriminator (hinge loss)
  config.adversarial.start_step = 1000

  if args.test:
    config.update_from_flattened_dict({
        **config_lib.TINY_LOOP, "dataset": "regen_fashion_mnist/tiny",
        "model.channels": (8, 16), "model.code_dim": 8, "vq.codebook_size": 32,
        "adversarial.start_step": 5})
  return config
