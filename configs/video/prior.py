"""Video stage 2 (X -> Y′): one MaskGIT prior over the tokenizer's 4x8x8 codes for two tasks,
class + motion -> clip and first 4 frames -> next 12.

  python -m regen_jax train --config configs/video/prior.py --workdir runs/video/prior \
      --config.stage1.workdir=runs/video/tokenizer --config.classifier.workdir=runs/video/classifier
Arguments: quantizer=fsq|ema and full|paper (tokenizer.py's arguments, which it nests), test.
`config.classifier.workdir`, a trained classifier.py, adds the clip scores to evaluations.
"""

import ml_collections

from regen_jax.core import config as config_lib


def prior_config(stage1: ml_collections.ConfigDict, test: bool) -> ml_collections.ConfigDict:
  """The MaskGIT clip prior over the abstraction `stage1` configures: shared by this file and
  direct.py."""
  config = config_lib.base()
  config.stage = "regen_jax.domains.video.prior:ClipPrior"
  config.stage1 = stage1
  config.dataset = config.stage1.get_ref("dataset")  # one dataset for both stages
  config.data_dir = config.stage1.get_ref("data_dir")
  config.classifier = ml_collections.ConfigDict({
      "stage": "regen_jax.domains.video.classifier:Classifier", "workdir": ""})
  config.prior = "maskgit"
  config.num_steps = 250  # ≈ 4.5 min on 2 CPU cores
  config.eval_every = 250  # one evaluation, at the end: sampling costs CPU time
  config.batch_size = 16
  config.eval_batch_size = 100
  config.optimizer.learning_rate = 1e-3
  config.optimizer.weight_decay = 0.01
  config.eval_samples = 100  # rows of the evaluation split sampled for each task in `evaluate`

  config.model = ml_collections.ConfigDict()
  config.model.width = 128
  config.model.depth = 4
  config.model.num_heads = 4
  config.model.mlp_ratio = 4

  config.sampling = ml_collections.ConfigDict()
  config.sampling.batch_size = 100
  config.sampling.temperature = 1.0
  config.sampling.maskgit_steps = 8
  config.sampling.maskgit_choice_temperature = 4.5
  if test:
    config.update_from_flattened_dict({
        **config_lib.TINY_LOOP, "model.width": 32, "model.depth": 2, "model.num_heads": 2,
        "eval_samples": 16, "sampling.batch_size": 16})
  return config


def get_config(arg=None):
  args = config_lib.parse_arg(arg, quantizer="fsq", full=False, paper=False)
  stage1_arg = ",".join(f"{key}={value}" if isinstance(value, str) else key
                        for key, value in args.items() if value)
  stage1 = config_lib.sibling_module(__file__, "tokenizer.py").get_config(stage1_arg)
  stage1.workdir = ""  # a trained tokenizer.py
  config = prior_config(stage1, args.test)
  if args.paper:  # MAGVIT-B's transformer over the 4x16x16 codes
    config.update_from_flattened_dict({
        "model.width": 768, "model.depth": 12, "model.num_heads": 12, "batch_size": 256,
        "num_steps": 500_000, "optimizer.learning_rate": 1e-4, "compute_dtype": "bfloat16",
        "sampling.maskgit_steps": 12})
  return config
