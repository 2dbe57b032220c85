"""The evaluation classifier (not a generation stage): scores class-conditional samples.

  python -m regen_jax train --config configs/image_classifier.py --workdir runs/image_classifier
"""

from regen_jax.tasks import classifier
from regen_jax.train import config as config_lib


def get_config(arg=None):
  return classifier.default_config(config_lib.parse_arg(arg).test)
