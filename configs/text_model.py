"""What every stage of configs/text shares (realizer.py, planner.py, direct.py): the dataset and
its sequence limits, the transformer's size, the loop and decoding. Not a stage config: a stage
config starts from `text_config(...)`."""

import ml_collections

from regen_jax.core import config as config_lib

DEFINITIONS = "regen_jax.domains.text.abstractions:Definitions"


def text_config(stage: str, stage1: ml_collections.ConfigDict | None,
                test: bool) -> ml_collections.ConfigDict:
  """The stage at import path `stage` over `stage1` (None: the definitions rule), tiny with
  `test`."""
  config = config_lib.base()
  config.stage = stage
  config.prior = "ar"
  if stage1 is None:
    config.dataset = "regen_wordnet/tiny" if test else "regen_wordnet/full"
    config.text = ml_collections.ConfigDict({  # subword pieces, [END] included
        "max_record_tokens": 24, "max_plan_tokens": 28, "max_gloss_tokens": 40})
    stage1 = ml_collections.ConfigDict({"stage": DEFINITIONS, "workdir": ""})
    # The rule reads the same dataset and limits (references: one place to override them).
    stage1.dataset = config.get_ref("dataset")
    stage1.data_dir = config.get_ref("data_dir")
    stage1.text = ml_collections.ConfigDict(
        {key: config.text.get_ref(key) for key in config.text})
  else:
    config.dataset = stage1.get_ref("dataset")
    config.data_dir = stage1.get_ref("data_dir")
    config.text = ml_collections.ConfigDict(
        {key: stage1.text.get_ref(key) for key in stage1.text})
  config.stage1 = stage1
  config.num_steps = 500  # ≈ 4 min on 2 CPU cores (the direct model: 930, the same FLOPs)
  config.batch_size = 64
  config.eval_every = 250
  config.checkpoint_every = 250
  config.optimizer.learning_rate = 2e-3
  config.optimizer.weight_decay = 0.01

  config.model = ml_collections.ConfigDict()  # the same size for every text stage
  config.model.width = 128
  config.model.depth = 4
  config.model.num_heads = 4
  config.model.mlp_ratio = 4

  config.sampling = ml_collections.ConfigDict()
  config.sampling.strategy = "greedy"  # or "beam", "nucleus"
  config.sampling.beam_size = 4
  config.sampling.length_penalty = 0.6
  config.sampling.top_p = 0.9
  config.sampling.temperature = 1.0
  config.sampling.batch_size = 300
  config.num_decoded = 200  # validation examples decoded (greedy) at each evaluation in training
  # In `evaluate`: the split's first 600 examples, by each strategy (a fixed sample: the split
  # is stored in a seeded random order); None: every example.
  config.num_decoded_full = 600
  config.eval_strategies = ("greedy", "beam", "nucleus")

  if test:
    config.update_from_flattened_dict({
        **config_lib.TINY_LOOP, "model.width": 32, "model.depth": 1, "model.num_heads": 2,
        "num_eval_examples": 32, "num_decoded": 16, "num_decoded_full": None,
        "sampling.batch_size": 16})
  return config
