"""Discrete direct baseline (X -> Y): class -> pixels by the token priors, no learned abstraction.

The prior, trunk, sampler and budget of prior.py over 4x4 patches of pixels quantized to 16
levels (7x7 positions of 16 tokens each): the discrete route's pixel twin. Each patch's 16
pixels come from a small autoregressive transformer inside the patch (head=autoregressive, the
default: RQ-Transformer's depth transformer), or independently of each other from one linear
head (head=independent: a labelled ablation, whose samples are speckle).
  python -m regen_jax train --config configs/image/direct.py:prior=maskgit \
      --workdir runs/image/direct --config.classifier.workdir=runs/image/classifier
Arguments: prior=ar|maskgit, head=autoregressive|independent, test.
"""

import ml_collections

from regen_jax.core import config as config_lib
from regen_jax.errors import UserError

HEADS = ("autoregressive", "independent")


def get_config(arg=None):
  args = config_lib.parse_arg(arg, prior="ar", head="autoregressive")
  if args.head not in HEADS:
    raise UserError(f"head must be one of {', '.join(HEADS)}, got {args.head!r}")
  pixels = ml_collections.ConfigDict({
      "stage": "regen_jax.abstractions.pixels:PixelPatches", "patch_size": 4, "levels": 16,
      "dataset": "regen_fashion_mnist/tiny" if args.test else "regen_fashion_mnist/full",
      "data_dir": "", "workdir": ""})
  config = config_lib.sibling_module(__file__, "prior.py").prior_config(args, pixels)
  if args.head == "autoregressive":
    config.model.sub_token_head = ml_collections.ConfigDict(
        {"width": 16 if args.test else 32, "depth": 1 if args.test else 2, "num_heads": 2})
    if not args.test:
      # The head runs over all 784 pixels: 50.5 GFLOPs a step vs 34.1 with the linear head
      # (XLA cost analysis), so 320 steps ≈ pixel_flow.py's 500 (16.3 TFLOPs).
      config.num_steps = config.eval_every = 320
  return config
