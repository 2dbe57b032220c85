"""Image stage 2 of the continuous route (X -> Y′): class -> the 7x7x4 latents of the KL
autoencoder of autoencoder.py, by rectified flow with a DiT denoiser (patch 1: 49 tokens).

  python -m regen_jax train --config configs/image/flow.py --workdir runs/image/flow \
      --config.stage1.workdir=runs/image/autoencoder \
      --config.classifier.workdir=runs/image/classifier
Arguments: test (tiny); paper: a DiT-B/2-like denoiser (width 768, depth 12, 12 heads, patch 2)
over autoencoder.py:paper's 32x32x4 latents of 256x256 images. Sampling (may change between runs of a workdir):
--config.sampling.steps=N, --config.sampling.solver=euler|heun, --config.sampling.guidance=S
(classifier-free guidance; 1 = the conditional model).
"""

import ml_collections

from regen_jax.core import config as config_lib


def flow_config(args, stage1: ml_collections.ConfigDict,
                patch_size: int) -> ml_collections.ConfigDict:
  """A flow prior over the latents `stage1` configures, with DiT patches of `patch_size`:
  shared by this file and pixel_flow.py."""
  config = config_lib.sibling_module(__file__, "../image_priors.py").class_prior_config(
      "regen_jax.domains.image.prior:ImageFlowPrior", stage1, args.test)
  config.model.patch_size = patch_size
  config.flow = ml_collections.ConfigDict()
  config.flow.condition_dropout = 0.1  # training rows without their class (for guidance)
  config.sampling.steps = 4 if args.test else 16
  config.sampling.solver = "euler"  # or "heun" (two evaluations per step)
  config.sampling.guidance = 3.0  # classifier-free guidance; 1 = the conditional model
  return config


def get_config(arg=None):
  args = config_lib.parse_arg(arg, paper=False)
  stage1 = config_lib.sibling_module(__file__, "autoencoder.py").get_config(
      ",".join(name for name in ("test", "paper") if args[name]) or None)
  stage1.workdir = ""  # a trained autoencoder.py
  config = flow_config(args, stage1, patch_size=1)
  if args.paper:
    config.update_from_flattened_dict({
        "batch_size": 256, "num_steps": 400_000, "optimizer.learning_rate": 1e-4,
        "optimizer.weight_decay": 0.0, "model.patch_size": 2, "model.width": 768,
        "model.depth": 12, "model.num_heads": 12, "compute_dtype": "bfloat16",
        "ema_decay": 0.9999, "sampling.batch_size": 32})
  return config
