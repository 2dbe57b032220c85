"""Direct baseline (X -> Y): the MaskGIT prior of prior.py, its trunk, tasks, condition encoder
and sampler, over 4x4x4 patches of pixels quantized to 16 levels (the tokenizer's 4x8x8 grid,
64 pixels a position, each from a small autoregressive transformer inside the patch), with no
learned abstraction.
  python -m regen_jax train --config configs/video/direct.py --workdir runs/video/direct \
      --config.classifier.workdir=runs/video/classifier
Arguments: full (16x64x64 clips), test.
"""

import ml_collections

from regen_jax.core import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg, full=False)
  dataset = ("regen_moving_fashion/tiny" if args.test else
             "regen_moving_fashion/full" if args.full else "regen_moving_fashion/small")
  pixels = ml_collections.ConfigDict({
      "stage": "regen_jax.domains.video.patches:ClipPatches", "patch": (4, 4, 4), "levels": 16,
      "dataset": dataset, "data_dir": "", "workdir": ""})
  config = config_lib.sibling_module(__file__, "prior.py").prior_config(pixels, args.test)
  config.model.sub_token_head = ml_collections.ConfigDict(
      {"width": 16, "depth": 1, "num_heads": 2})
  if not args.test:
    # The head runs over all 16,384 pixels of a clip: a step costs ~1.1x prior.py's (XLA cost
    # analysis), so 225 steps match its 250.
    config.num_steps = config.eval_every = 225
  return config
