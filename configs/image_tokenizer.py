"""Image stage 1 (Y -> Y' -> Y): VQ tokenizer, 28x28 -> 7x7 codes of a 256-entry codebook.

  python -m regen_jax train --config configs/image_tokenizer.py --workdir runs/image_tokenizer
  ... --config configs/image_tokenizer.py:test   (tiny: seconds on a CPU)
"""

import ml_collections

from regen_jax.train import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg)
  config = config_lib.base(args.test)
  config.task = "tokenizer"
  config.abstraction = "vq_tokenizer"  # how a stage 2 loads this stage (regen_jax/abstractions)
  config.num_steps = 20 if args.test else 1500
  config.optimizer.learning_rate = 2e-3

  config.model = ml_collections.ConfigDict()
  config.model.channels = (8, 16) if args.test else (32, 64, 64)  # one stride-2 per extra entry
  config.model.code_dim = 8 if args.test else 16

  config.vq = ml_collections.ConfigDict()
  config.vq.codebook_size = 32 if args.test else 256
  config.vq.commitment_cost = 0.25
  config.vq.ema_decay = 0.99
  config.vq.dead_code_threshold = 0.5  # EMA count per batch below which a code is restarted
  config.vq.kmeans_iterations = 10

  config.adversarial = ml_collections.ConfigDict()
  config.adversarial.weight = 0.0  # > 0 adds a patch discriminator (hinge loss)
  config.adversarial.start_step = 5 if args.test else 1000
  return config
