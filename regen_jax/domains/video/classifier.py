"""The evaluation clip classifier: trained on the real training clips with the shared loop, it
scores generated clips (are their items of the classes asked for; Fréchet distance in its
features, an FVD stand-in: the I3D network of FVD cannot be downloaded here).

A clip holds one or two items, so the classifier is multi-label (a sigmoid per class). An item
counts as recognised when its class is among the clip's top-k classes, k = the number of items
asked for.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from regen_jax.domains.video import data
from regen_jax.domains.video.clips import ClipStage, to_float
from regen_jax.domains.video.models import ClipClassifier
from regen_jax.evaluate.metrics import frechet_distance

_CHUNK = 250


def present_classes(labels, num_classes: int = data.NUM_CLASSES):
  """(B, items) class ids, `data.NO_ITEM` for none -> (B, num_classes) multi-hot."""
  return jax.nn.one_hot(labels, num_classes + 1)[..., :num_classes].max(axis=-2)


def recognised_items(logits, labels):
  """(items recognised, items asked for): an item is recognised when its class ranks among the
  clip's top-k logits, k = the clip's number of items."""
  labels = np.asarray(labels)
  present = labels != data.NO_ITEM
  k = present.sum(-1, keepdims=True)
  rank = np.argsort(np.argsort(-np.asarray(logits), axis=-1), axis=-1)
  rank_of_label = np.take_along_axis(rank, np.where(present, labels, 0), axis=-1)
  return int(np.sum(present & (rank_of_label < k))), int(present.sum())


class Classifier(ClipStage):
  progress_keys = ("accuracy",)

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    self.model = ClipClassifier(data.NUM_CLASSES, tuple(config.model.channels),
                                config.model.feature_dim, config.model.frame_stride,
                                jnp.dtype(config.compute_dtype))

  def init(self, rng, batch):
    return self.model.init(rng, to_float(batch["video"]))["params"], {}

  def _logits(self, params, batch):
    return self.model.apply({"params": params}, to_float(batch["video"]))[0]

  def _losses(self, params, batch):
    logits = self._logits(params, batch)
    targets = present_classes(batch["label"])
    nll = optax.sigmoid_binary_cross_entropy(logits, targets).sum(-1)
    # Exact for one item; for two, whether both are the two highest.
    k = targets.sum(-1, keepdims=True)
    rank = jnp.argsort(jnp.argsort(-logits, axis=-1), axis=-1)
    exact = jnp.all((rank < k) == (targets > 0), axis=-1)
    return nll, exact

  def loss(self, params, model_state, batch, rng, step):
    del rng, step
    nll, exact = self._losses(params, batch)
    return nll.mean(), ({"accuracy": exact.mean()}, model_state)

  def eval_metrics(self, params, model_state, batch):
    del model_state
    nll, exact = self._losses(params, batch)
    mask = batch["mask"]
    return {"count": mask.sum(), "nll": jnp.sum(mask * nll), "exact": jnp.sum(mask * exact)}

  def summarize(self, sums):
    return {"accuracy": sums["exact"] / sums["count"], "nll": sums["nll"] / sums["count"]}


class ClipScorer:
  """Item accuracy of generated clips and their Fréchet distance to real clips, in the features
  of a trained `Classifier`."""

  def __init__(self, restored):
    model, self._params = restored.stage.model, restored.params
    self._apply = jax.jit(lambda params, x: model.apply({"params": params}, x))

  def logits_and_features(self, clips) -> tuple[np.ndarray, np.ndarray]:
    """clips: floats in [0, 1], (N, T, H, W, C)."""
    outs = [jax.device_get(self._apply(self._params, np.asarray(clips[i:i + _CHUNK], np.float32)))
            for i in range(0, len(clips), _CHUNK)]
    return np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs])

  def item_accuracy(self, clips, labels) -> float:
    recognised, asked = recognised_items(self.logits_and_features(clips)[0], labels)
    return recognised / asked

  def scores(self, clips, labels, real_clips) -> dict:
    """Item accuracy of `clips` as `labels`, and Fréchet distance to `real_clips` (uint8)."""
    logits, features = self.logits_and_features(clips)
    real_features = self.logits_and_features(np.asarray(real_clips, np.float32) / 255)[1]
    recognised, asked = recognised_items(logits, labels)
    return {"item_accuracy": recognised / asked,
            "frechet_distance": frechet_distance(features, real_features)}
