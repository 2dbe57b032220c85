"""Direct baseline (X -> Y): class -> pixels, no learned abstraction.

The same prior, sampler and budget as prior.py, over 4x4 patches of pixels quantized to 16
levels (7x7 positions of 16 tokens each): the only difference from the regen pipeline is the
missing tokenizer.
  python -m regen_jax train --config configs/image/direct.py:prior=maskgit \
      --workdir runs/image/direct
Arguments: prior=ar|maskgit, test.
"""

import ml_collections

from regen_jax.core import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg, prior="ar")
  pixels = ml_collections.ConfigDict({
      "stage": "regen_jax.abstractions.pixels:PixelPatches", "patch_size": 4, "levels": 16,
      "dataset": "regen_fashion_mnist/tiny" if args.test else "regen_fashion_mnist/full",
      "data_dir": "", "workdir": ""})
  return config_lib.sibling_module(__file__, "prior.py").prior_config(args, pixels)
