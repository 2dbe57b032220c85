"""Direct baseline (X -> Y): class -> pixels by the flow prior of flow.py, no learned abstraction.

The same DiT, flow matching, sampler and budget as flow.py, over the 28x28x1 pixel values in
[-1, 1] with 4x4 patches (49 tokens, as flow.py's 7x7 latents with patch 1): the only difference
from the regen pipeline is the missing autoencoder.
  python -m regen_jax train --config configs/image/pixel_flow.py --workdir runs/image/pixel_flow \
      --config.classifier.workdir=runs/image/classifier
Arguments: test.
"""

import ml_collections

from regen_jax.core import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg)
  pixels = ml_collections.ConfigDict({
      "stage": "regen_jax.abstractions.pixels:PixelValues",
      "dataset": "regen_fashion_mnist/tiny" if args.test else "regen_fashion_mnist/full",
      "data_dir": "", "workdir": ""})
  return config_lib.sibling_module(__file__, "flow.py").flow_config(args, pixels, patch_size=4)
