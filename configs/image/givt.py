"""Image stage 2 of the continuous route, autoregressive (X -> Y′): class -> the 7x7x4 latents of
the KL autoencoder of autoencoder.py, by a GIVT-style prior (causal transformer, a Gaussian
mixture per latent vector, raster order): the flow prior's alternative over the same latents.

  python -m regen_jax train --config configs/image/givt.py --workdir runs/image/givt \
      --config.stage1.workdir=runs/image/autoencoder \
      --config.classifier.workdir=runs/image/classifier
Arguments: test (tiny). Sampling (may change between runs of a workdir):
--config.sampling.temperature=T (scales each component's standard deviations).
"""

import ml_collections

from regen_jax.core import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg)
  stage1 = config_lib.sibling_module(__file__, "autoencoder.py").get_config(
      "test" if args.test else None)
  stage1.workdir = ""  # a trained autoencoder.py
  config = config_lib.sibling_module(__file__, "../image_priors.py").class_prior_config(
      "regen_jax.domains.image.prior:ImageMixturePrior", stage1, args.test)
  config.mixture = ml_collections.ConfigDict()
  config.mixture.components = 4 if args.test else 16  # 16 as GIVT's class-conditional ImageNet
  config.sampling.temperature = 1.0
  return config
