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
  config = config_lib.base()
  config.stage = "regen_jax.domains.image.prior:ImagePrior"
  config.prior = args.prior
  config.stage1 = stage1
  config.dataset = config.stage1.get_ref("dataset")  # one dataset for both stages
  config.data_dir = config.stage1.get_ref("data_dir")
  config.classifier = ml_collections.ConfigDict({
      "stage": "regen_jax.domains.image.classifier:Classifier", "workdir": ""})
  config.num_steps = 500  # ≈ 4.5 min on 2 CPU cores at width 128, depth 4
  config.eval_every = 500  # one evaluation, at the end: sampling costs CPU time
  config.optimizer.learning_rate = 1e-3
  config.optimizer.weight_decay = 0.01

  config.model = ml_collections.ConfigDict()
  config.model.width = 128
  config.model.depth = 4
  config.model.num_heads = 4
  config.model.mlp_ratio = 4

  config.sampling = ml_collections.ConfigDict()
  config.sampling.temperature = 1.0
  config.sampling.maskgit_steps = 8
  config.sampling.maskgit_choice_temperature = 4.5
  config.sampling.batch_size = 100
  config.sampling.grid_columns = 10  # samples per class in the PNG grid
  config.eval_samples_per_class = 100  # for `evaluate`'s scores

  if args.test:
    config.update_from_flattened_dict({
        **config_lib.TINY_LOOP, "model.width": 32, "model.depth": 2, "model.num_heads": 2,
        "eval_samples_per_class": 10})
  return config


def get_config(arg=None):
  args = config_lib.parse_arg(arg, prior="ar", quantizer="ema")
  stage1 = config_lib.sibling_module(__file__, "tokenizer.py").get_config(
      f"quantizer={args.quantizer}" + (",test" if args.test else ""))
  stage1.workdir = ""  # a trained tokenizer.py
  return prior_config(args, stage1)
