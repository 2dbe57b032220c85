"""Direct baseline (X -> Y): class -> pixels, no learned abstraction.

The same prior transformer, sampler and budget as image_prior.py, over 4x4 patches of pixels
quantized to 16 levels (7x7 positions of 16 tokens each): the only difference from the regen
pipeline is the missing tokenizer.
  python -m regen_jax train --config configs/image_direct.py:prior=maskgit --workdir runs/image_direct
"""

import ml_collections

from regen_jax.tasks import prior
from regen_jax.train import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg, prior="ar")
  pixels = ml_collections.ConfigDict({"abstraction": "pixels", "patch_size": 4, "levels": 16})
  config = prior.default_config(args.test, args.prior, stage1=pixels, stage1_workdir="")
  config.classifier_workdir = ""  # a trained configs/image_classifier.py workdir adds sample scores
  return config
