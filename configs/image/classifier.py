"""The evaluation classifier (not a generation stage): scores class-conditional samples.

  python -m regen_jax train --config configs/image/classifier.py --workdir runs/image/classifier
Arguments: test (tiny).
"""

import ml_collections

from regen_jax.core import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg)
  config = config_lib.base()
  config.stage = "regen_jax.domains.image.classifier:Classifier"
  config.dataset = "regen_fashion_mnist/full"
  config.num_steps = 400  # ≈ 88 % test accuracy
  config.model = ml_collections.ConfigDict()
  config.model.channels = (16, 32)  # a 3x3 conv pair, then 2x2 max-pool, per entry
  config.model.feature_dim = 128

  if args.test:
    config.update_from_flattened_dict({
        **config_lib.TINY_LOOP, "dataset": "regen_fashion_mnist/tiny", "model.channels": (8, 16),
        "model.feature_dim": 16})
  return config
