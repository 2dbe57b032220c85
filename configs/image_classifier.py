"""The evaluation classifier (not a generation stage): scores class-conditional samples.

  python -m regen_jax train --config configs/image_classifier.py --workdir runs/image_classifier
"""

import ml_collections

from regen_jax.train import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg)
  config = config_lib.base(args.test)
  config.task = "classifier"
  config.num_steps = 20 if args.test else 600
  config.model = ml_collections.ConfigDict()
  config.model.feature_dim = 16 if args.test else 128
  return config
