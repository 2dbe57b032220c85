"""The evaluation classifier: trained on the real training split with the shared loop, it scores
class-conditional samples (accuracy as their class, Fréchet distance in its features)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from regen_jax.domains.image.data import ImageStage, to_float
from regen_jax.domains.image.models import Classifier as ClassifierNet
from regen_jax.evaluate.metrics import frechet_distance

_CHUNK = 500


class Classifier(ImageStage):
  progress_keys = ("accuracy",)

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    self.model = ClassifierNet(self.num_classes, tuple(config.model.channels),
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


class ClassifierScorer:
  """Class accuracy of class-conditional samples, and Fréchet distance in the classifier's
  features, from a trained `Classifier`."""

  def __init__(self, restored):
    self.image_shape = restored.stage.image_shape
    model, self._params = restored.stage.model, restored.params
    self._apply = jax.jit(lambda params, x: model.apply({"params": params}, x))
    self._real_features = {}

  def logits_and_features(self, images) -> tuple[np.ndarray, np.ndarray]:
    """images: floats in [0, 1], (N, H, W, C)."""
    outs = [jax.device_get(self._apply(self._params, images[i:i + _CHUNK]))
            for i in range(0, len(images), _CHUNK)]
    return np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs])

  def accuracy(self, images, labels) -> float:
    logits, _ = self.logits_and_features(images)
    return float(np.mean(logits.argmax(-1) == np.asarray(labels)))

  def scores(self, images, labels, real_images) -> dict:
    """Accuracy of `images` as `labels`, and Fréchet distance to `real_images` (uint8 ok)."""
    logits, features = self.logits_and_features(images)
    key = (len(real_images), real_images.shape)
    if key not in self._real_features:
      self._real_features[key] = self.logits_and_features(
          np.asarray(real_images, np.float32) / 255)[1]
    return {"sample_accuracy": float(np.mean(logits.argmax(-1) == np.asarray(labels))),
            "frechet_distance": frechet_distance(features, self._real_features[key])}
