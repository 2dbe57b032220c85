"""Condition encoders that any domain may hand a family (domain-specific ones live with their
domain)."""

import flax.linen as nn


class ClassLabel(nn.Module):
  """X = a class id (`inputs['label']`, (B,)) -> one prefix vector (B, 1, width)."""
  num_classes: int
  width: int
  length = 1  # prefix vectors

  @nn.compact
  def __call__(self, inputs):
    return nn.Embed(self.num_classes, self.width, name="class_embed")(inputs["label"])[:, None]
