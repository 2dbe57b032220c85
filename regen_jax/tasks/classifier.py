"""The evaluation classifier, trained on the real training split with the shared loop."""

import jax.numpy as jnp
import ml_collections
import optax

from regen_jax.models.classifier import Classifier
from regen_jax.tasks.base import ImageTask, to_float
from regen_jax.train import config as config_lib


def default_config(test: bool) -> ml_collections.ConfigDict:
  config = config_lib.base(test)
  config.task = "classifier"
  config.num_steps = 20 if test else 400  # ≈ 88 % test accuracy
  config.model = ml_collections.ConfigDict()
  config.model.channels = (8, 16) if test else (16, 32)
  config.model.feature_dim = 16 if test else 128
  return config


class Task(ImageTask):
  progress_keys = ("accuracy",)

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    self.model = Classifier(self.num_classes, tuple(config.model.channels),
                            config.model.feature_dim, jnp.dtype(config.compute_dtype))

  def init(self, rng, batch):
    return self.model.init(rng, to_float(batch["image"]))["params"], {}

  def _logits(self, params, batch):
    return self.model.apply({"params": params}, to_float(batch["image"]))[0]

  def loss(self, params, model_state, batch, rng, step):
    del rng, step
    logits = self._logits(params, batch)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"]).mean()
    return loss, ({"accuracy": jnp.mean(logits.argmax(-1) == batch["label"])}, model_state)

  def eval_metrics(self, params, model_state, batch):
    del model_state
    logits, mask = self._logits(params, batch), batch["mask"]
    nll = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"])
    return {"count": mask.sum(), "nll": jnp.sum(mask * nll),
            "correct": jnp.sum(mask * (logits.argmax(-1) == batch["label"]))}

  def summarize(self, sums):
    return {"accuracy": sums["correct"] / sums["count"], "nll": sums["nll"] / sums["count"]}
