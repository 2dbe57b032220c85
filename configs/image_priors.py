"""What every class-conditional prior of configs/image shares (prior.py, flow.py, givt.py and
the direct baselines built on them): data from its stage 1, the evaluation classifier, the
loop's budget, the trunk's size and the sampler's batching. Not a stage config: a stage config
starts from `class_prior_config(...)` and adds its model, objective and sampling keys."""

import ml_collections

from regen_jax.core import config as config_lib


def class_prior_config(stage: str, stage1: ml_collections.ConfigDict,
                       test: bool) -> ml_collections.ConfigDict:
  """The stage at import path `stage` over the abstraction `stage1` configures, tiny with
  `test`."""
  config = config_lib.base()
  config.stage = stage
  config.stage1 = stage1
  config.dataset = config.stage1.get_ref("dataset")  # one dataset for both stages
  config.data_dir = config.stage1.get_ref("data_dir")
  config.classifier = ml_collections.ConfigDict({
      "stage": "regen_jax.domains.image.classifier:Classifier", "workdir": ""})
  config.num_steps = 500  # ≈ 4.5 min for a token prior on 2 CPU cores
  config.eval_every = 500  # one evaluation, at the end: sampling costs CPU time
  config.optimizer.learning_rate = 1e-3
  config.optimizer.weight_decay = 0.01

  config.model = ml_collections.ConfigDict()  # the trunk, the same size for every prior
  config.model.width = 128
  config.model.depth = 4
  config.model.num_heads = 4
  config.model.mlp_ratio = 4

  config.sampling = ml_collections.ConfigDict()
  config.sampling.batch_size = 100
  config.sampling.grid_columns = 10  # samples per class in the PNG grid
  config.eval_samples_per_class = 100  # for `evaluate`'s scores

  if test:
    config.update_from_flattened_dict({
        **config_lib.TINY_LOOP, "model.width": 32, "model.depth": 2, "model.num_heads": 2,
        "eval_samples_per_class": 10})
  return config
