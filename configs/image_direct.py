"""Direct baseline (X -> Y): class -> pixels, no learned abstraction.

The same prior transformer, sampler and budget as image_prior.py, over 4x4 patches of pixels
quantized to 16 levels (7x7 positions of 16 tokens each): the only difference from the regen
pipeline is the missing tokenizer.
  python -m regen_jax train --config configs/image_direct.py:prior=maskgit --workdir runs/image_direct
"""

import ml_collections

from configs import image_prior


def get_config(arg=None):
  config = image_prior.get_config(arg)
  config.dataset = config.stage1.dataset  # break the link before replacing stage 1
  config.stage1 = ml_collections.ConfigDict({"abstraction": "pixels", "patch_size": 4, "levels": 16})
  config.stage1_workdir = ""  # a rule: nothing to load
  return config
