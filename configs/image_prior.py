"""Image stage 2 (X -> Y'): class -> 7x7 VQ codes of the tokenizer trained by image_tokenizer.py.

  python -m regen_jax train --config configs/image_prior.py:prior=maskgit --workdir runs/image_prior
Arguments: prior=ar (autoregressive, KV-cache sampling; default) or prior=maskgit (parallel
decoding, cosine schedule), and test (tiny). Codebook size and code grid come from the nested
stage-1 config, which must match the one saved in `stage1_workdir` (else a clear error).
"""

import ml_collections

from configs import image_tokenizer
from regen_jax.train import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg, prior="ar")
  config = config_lib.base(args.test)
  config.task = "prior"
  config.prior = args.prior
  config.stage1 = image_tokenizer.get_config("test" if args.test else None)
  config.stage1_workdir = "runs/image_tokenizer"
  config.dataset = config.stage1.get_ref("dataset")  # one dataset for both stages
  config.classifier_workdir = "runs/image_classifier"  # "" = no classifier scores
  config.num_steps = 20 if args.test else 1500
  config.optimizer.learning_rate = 1e-3
  config.optimizer.weight_decay = 0.01

  config.model = ml_collections.ConfigDict()
  config.model.width = 32 if args.test else 128
  config.model.depth = 2 if args.test else 4
  config.model.num_heads = 2 if args.test else 4
  config.model.mlp_ratio = 4

  config.sampling = ml_collections.ConfigDict()
  config.sampling.temperature = 1.0
  config.sampling.maskgit_steps = 8
  config.sampling.maskgit_choice_temperature = 4.5
  config.sampling.batch_size = 100
  config.sampling.grid_columns = 10  # samples per class in the PNG grid
  config.eval_samples_per_class = 10 if args.test else 100  # for `evaluate`'s scores
  return config
