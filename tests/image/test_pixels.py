"""The pixel rule, the direct baseline's Y′: round trip and input checks."""

import numpy as np
import pytest

from regen_jax.abstractions.pixels import PixelPatches
from regen_jax.errors import UserError


def test_pixel_patches_round_trip_within_quantization_error():
  abstraction = PixelPatches((28, 28, 1), patch_size=4, levels=16)
  images = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
  tokens = abstraction.encode(images)
  assert tokens.shape == (3, 7, 7, 16) and int(tokens.max()) < 16
  assert abstraction.spec.grid == (7, 7) and abstraction.spec.tokens_per_position == 16
  decoded = np.asarray(abstraction.decode(tokens))
  assert np.max(np.abs(decoded - images / 255.0)) <= 0.5 / 15 + 1e-6
  extremes = np.asarray(abstraction.decode(abstraction.encode(
      np.repeat(np.array([0, 255], np.uint8), 784).reshape(2, 28, 28, 1))))
  np.testing.assert_array_equal(extremes[0], 0.0)  # black decodes as black
  np.testing.assert_array_equal(extremes[1], 1.0)
  np.testing.assert_array_equal(abstraction.encode((decoded * 255).round().astype(np.uint8)),
                                tokens)


def test_encode_refuses_images_of_the_wrong_shape_or_type():
  abstraction = PixelPatches((28, 28, 1), patch_size=4, levels=16)
  with pytest.raises(UserError, match=r"encode expects uint8 images of shape \(batch, 28, 28, 1\)"):
    abstraction.encode(np.zeros((2, 32, 32, 3), np.uint8))
  with pytest.raises(UserError, match="got float32"):
    abstraction.encode(np.zeros((2, 28, 28, 1), np.float32))
