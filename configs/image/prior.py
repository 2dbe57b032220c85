"""Image stage 2 (X -> Y′): class -> the 7x7 codes of the tokenizer of tokenizer.py.

  python -m regen_jax train --config configs/image/prior.py:prior=maskgit \
      --workdir runs/image/prior --config.stage1.workdir=runs/image/tokenizer \
      --config.classifier.workdir=runs/image/classifier
Arguments: prior=ar (autoregressive, KV-cache sampling; default) or prior=maskgit (parallel
decoding, cosine schedule), quantizer=ema|fsq (the tokenizer.py argument it nests), and test
(tiny). `config.stage1` nests tokenizer.py's config: its
Y′-defining keys must equal the trained tokenizer's (else one error line naming the key).
`config.classifier.workdir`, a trained classifier.py, adds sample scores to evaluations.
"""

import ml_collections

from regen_jax.core import config as config_lib


def prior_config(args, stage1: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A prior of kind `args.prior` ('ar' | 'maskgit') over the abstraction `stage1` configures:
  shared by this file and direct.py."""
  config = config_lib.sibling_module(__file__, "../image_priors.py").class_prior_config(
      "regen_jax.domains.image.prior:ImagePrior", stage1, args.test)
  config.prior = args.prior
  config.sampling.temperature = 1.0
  config.sampling.maskgit_steps = 8
  config.sampling.maskgit_choice_temperature = 4.5
  return config


def get_config(arg=None):
  args = config_lib.parse_arg(arg, prior="ar", quantizer="ema")
  stage1 = config_lib.sibling_module(__file__, "tokenizer.py").get_config(
      f"quantizer={args.quantizer}" + (",test" if args.test else ""))
  stage1.workdir = ""  # a trained tokenizer.py
  return prior_config(args, stage1)
