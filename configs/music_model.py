"""What every stage of configs/music shares (voicing.py, planner.py, direct.py): the chorale
dataset, the transformer's size, the token family, the loop and sampling. Not a stage config: a
stage config starts from `music_config(...)`."""

import ml_collections

from regen_jax.core import config as config_lib

VOICES = "regen_jax.domains.music.abstractions:Voices"


def music_config(stage: str, stage1: ml_collections.ConfigDict | None, prior: str,
                 test: bool) -> ml_collections.ConfigDict:
  """The stage at import path `stage` over `stage1` (None: the voices rule), of token family
  `prior` ('ar' | 'maskgit'), tiny with `test`."""
  config = config_lib.base()
  config.stage = stage
  config.prior = prior
  if stage1 is None:
    config.dataset = "regen_chorales/tiny" if test else "regen_chorales/full"
    stage1 = ml_collections.ConfigDict({"stage": VOICES, "workdir": ""})
    stage1.dataset = config.get_ref("dataset")
    stage1.data_dir = config.get_ref("data_dir")
  else:
    config.dataset = stage1.get_ref("dataset")
    config.data_dir = stage1.get_ref("data_dir")
  config.stage1 = stage1
  config.num_steps = 800  # ≈ 5 min on 2 CPU cores (the direct model: 1245, the same FLOPs)
  config.batch_size = 32
  config.eval_every = 400
  config.checkpoint_every = 400
  config.optimizer.learning_rate = 1e-3
  config.optimizer.weight_decay = 0.01

  config.model = ml_collections.ConfigDict()  # the same size for every music stage
  config.model.width = 128
  config.model.depth = 4
  config.model.num_heads = 4
  config.model.mlp_ratio = 4
  # A position's tokens (alto, tenor, bass; or chord, cadence) one after another.
  config.model.sub_token_head = ml_collections.ConfigDict(
      {"width": 64, "depth": 1, "num_heads": 2})

  config.sampling = ml_collections.ConfigDict()
  config.sampling.temperature = 1.0
  config.sampling.maskgit_steps = 8
  config.sampling.maskgit_choice_temperature = 2.0
  config.sampling.batch_size = 128
  config.num_generated = 64  # validation windows harmonised in training (every one in evaluate)

  if test:
    config.update_from_flattened_dict({
        **config_lib.TINY_LOOP, "model.width": 32, "model.depth": 1, "model.num_heads": 2,
        "model.sub_token_head.width": 16, "num_eval_examples": 16, "num_generated": 8,
        "sampling.batch_size": 8})
  return config
