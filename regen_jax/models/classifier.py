"""Small CNN classifier; its penultimate features are the space of the Fréchet distance."""

import flax.linen as nn
import jax.numpy as jnp


class Classifier(nn.Module):
  num_classes: int
  channels: tuple[int, ...] = (16, 32)  # a 3x3 conv pair, then 2x2 max-pool, per entry
  feature_dim: int = 128
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, images, train: bool = False):
    """Returns (logits, features) for images in [0, 1]."""
    x = images * 2.0 - 1.0
    for features in self.channels:
      x = nn.relu(nn.Conv(features, (3, 3), dtype=self.dtype)(x))
      x = nn.relu(nn.Conv(features, (3, 3), dtype=self.dtype)(x))
      x = nn.max_pool(x, (2, 2), strides=(2, 2))
    x = x.reshape(x.shape[0], -1)
    features = nn.relu(nn.Dense(self.feature_dim, dtype=self.dtype)(x))
    return nn.Dense(self.num_classes, dtype=jnp.float32)(features), features.astype(jnp.float32)
