"""Scores generated images with a classifier trained on the real training split."""

import jax
import numpy as np

from regen_jax.evaluate.metrics import frechet_distance

_CHUNK = 500


class ClassifierScorer:
  """Class accuracy of class-conditional samples, and Fréchet distance in the classifier's features."""

  def __init__(self, workdir: str):
    from regen_jax.train import loop  # import late: the loop imports the tasks
    task, params, _, _ = loop.restore_stage(workdir, "the evaluation classifier "
                                                     "(configs/image_classifier.py)")
    self.image_shape = task.image_shape
    self._apply = jax.jit(lambda x: task.model.apply({"params": params}, x))
    self._real_features = {}

  def logits_and_features(self, images) -> tuple[np.ndarray, np.ndarray]:
    """images: floats in [0, 1], (N, H, W, C)."""
    outs = [jax.device_get(self._apply(images[i:i + _CHUNK])) for i in range(0, len(images), _CHUNK)]
    return np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs])

  def accuracy(self, images, labels) -> float:
    logits, _ = self.logits_and_features(images)
    return float(np.mean(logits.argmax(-1) == np.asarray(labels)))

  def scores(self, images, labels, real_images) -> dict:
    """Accuracy of `images` as `labels`, and Fréchet distance to `real_images` (uint8 ok)."""
    logits, features = self.logits_and_features(images)
    key = (len(real_images), real_images.shape)
    if key not in self._real_features:
      self._real_features[key] = self.logits_and_features(np.asarray(real_images, np.float32) / 255)[1]
    return {"sample_accuracy": float(np.mean(logits.argmax(-1) == np.asarray(labels))),
            "frechet_distance": frechet_distance(features, self._real_features[key])}
