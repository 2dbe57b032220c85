"""Image stage 2 (X -> Y'): class -> the 7x7 VQ codes of the tokenizer of image_tokenizer.py.

  python -m regen_jax train --config configs/image_prior.py:prior=maskgit --workdir runs/image_prior
Arguments: prior=ar (autoregressive, KV-cache sampling; default) or prior=maskgit (parallel
decoding, cosine schedule), and test (tiny). Codebook size and code grid come from the nested
stage-1 config, which must match the config saved in `stage1_workdir` (else a clear error).
"""

from regen_jax.tasks import prior, tokenizer
from regen_jax.train import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg, prior="ar")
  config = prior.default_config(args.test, args.prior, stage1=tokenizer.default_config(args.test),
                                stage1_workdir="runs/image_tokenizer")
  config.dataset = config.stage1.get_ref("dataset")  # one dataset for both stages
  config.classifier_workdir = ""  # a trained configs/image_classifier.py workdir adds sample scores
  return config
