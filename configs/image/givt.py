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
  config = config_lib.base()
  config.stage = "regen_jax.domains.image.prior:ImageMixturePrior"
  config.stage1 = stage1
  config.dataset = config.stage1.get_ref("dataset")  # one dataset for both stages
  config.data_dir = config.stage1.get_ref("data_dir")
  config.classifier = ml_collections.ConfigDict({
      "stage": "regen_jax.domains.image.classifier:Classifier", "workdir": ""})
  config.num_steps = 500
  config.eval_every = 500  # one evaluation, at the end: sampling costs CPU time
  config.optimizer.learning_rate = 1e-3
  config.optimizer.weight_decay = 0.01

  config.model = ml_collections.ConfigDict()  # the flow prior's trunk size
  config.model.width = 128
  config.model.depth = 4
  config.model.num_heads = 4
  config.model.mlp_ratio = 4

  config.mixture = ml_collections.ConfigDict()
  config.mixture.components = 16  # as GIVT's class-conditional ImageNet models

  config.sampling = ml_collections.ConfigDict()
  config.sampling.temperature = 1.0
  config.sampling.batch_size = 100
  config.sampling.grid_columns = 10  # samples per class in the PNG grid
  config.eval_samples_per_class = 100  # for `evaluate`'s scores

  if args.test:
    config.update_from_flattened_dict({
        **config_lib.TINY_LOOP, "model.width": 32, "model.depth": 2, "model.num_heads": 2,
        "mixture.components": 4, "eval_samples_per_class": 10})
  return config
