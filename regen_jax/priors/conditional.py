"""What every prior family over a stage 1's Y′ shares: X -> Y′ -> Y given a domain's condition.

A family (`priors.tokens.TokenPrior`, `priors.flow.FlowPrior`) subclasses `ConditionalPrior`
with the kind of Y′ it models (`spec_kind`), how a batch holds it, and how it samples Y′; a
domain subclasses a family with its condition encoder (X -> prefix, e.g.
`priors.conditions.ClassLabel`) and its examples (X arrays and Y). This class loads stage 1,
encodes Y with it (cached beside a learned stage 1, by its fingerprint), decodes samples with
stage 1's decoder, and builds the sampler `regen_jax export` serializes.
"""

import abc
import functools
import os

import flax.linen as nn
import jax
import numpy as np

from regen_jax.errors import UserError
from regen_jax.stages import cache, pairing
from regen_jax.stages.base import Stage
from regen_jax.stages.specs import describe

_ENCODE_CHUNK = 1000


class ConditionalPrior(Stage):
  runtime_keys = ("sampling",)
  spec_kind: type  # the Y′ spec the family models (TokenSpec, LatentSpec)

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    self.stage1 = pairing.load_stage1(config)
    self.spec = self.stage1.spec
    if not isinstance(self.spec, self.spec_kind):
      raise UserError(f"{type(self).__name__} models {self.spec_kind.__name__}s; config.stage1 "
                      f"makes {self.spec.name}")
    self.condition = self.condition_encoder()
    if not (isinstance(self.condition, nn.Module)
            and isinstance(getattr(self.condition, "length", None), int)):
      raise UserError(f"{type(self).__name__}.condition_encoder() must return a Flax module "
                      f"with an int `length` (its prefix vectors)")
    self.condition_keys = tuple(self.condition_example(1))
    self._decode, self._decoder_weights = self.stage1.decoder()
    self._sample_batch = jax.jit(self.decoded_samples)

  # ---- what the domain supplies
  @abc.abstractmethod
  def condition_encoder(self) -> nn.Module:
    """X -> prefix: a Flax module with `length` (its prefix vectors) mapping the condition
    arrays of a batch to (B, length, config.model.width)."""

  @abc.abstractmethod
  def condition_example(self, batch_size: int) -> dict[str, np.ndarray]:
    """The condition arrays of a batch (names, shapes and dtypes)."""

  @abc.abstractmethod
  def examples(self, split: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(condition arrays, Y) of every example of `split`; Y an array, or any sequence of arrays
    sliced in chunks (read from disk as it is encoded)."""

  # ---- what the family supplies
  @abc.abstractmethod
  def batch_arrays(self, encoded: np.ndarray) -> dict[str, np.ndarray]:
    """A batch's Y′ arrays from stage 1's `encode` of Y (one row per example)."""

  @abc.abstractmethod
  def y_prime_example(self, batch_size: int) -> dict[str, np.ndarray]:
    """A batch's Y′ arrays (names, shapes and dtypes)."""

  @abc.abstractmethod
  def sample_y_prime(self, params, condition: dict, rng):
    """Y′ (batch, *spec.grid, -1) sampled for the condition arrays of a batch."""

  # ---- data: Y -> Y′, through a cache for learned abstractions
  def _encoded(self, split: str) -> dict[str, np.ndarray]:
    path = None
    if self.config.stage1.get("workdir"):
      slug = f"{self.config.dataset}-{split}".replace("/", "_")
      path = os.path.join(self.config.stage1.workdir, "code_cache",
                          self.stage1.fingerprint, slug + ".npz")
    return cache.cached_arrays(path, lambda: self._encode_split(split),
                               f"{self.spec.name} of {split!r}")

  def _encode_split(self, split: str) -> dict[str, np.ndarray]:
    condition, targets = self.examples(split)
    encoded = np.concatenate([np.asarray(self.stage1.encode(targets[i:i + _ENCODE_CHUNK]))
                              for i in range(0, len(targets), _ENCODE_CHUNK)])
    return {**self.batch_arrays(encoded), **condition}

  @functools.cached_property
  def train_arrays(self):
    return self._encoded(self.config.train_split)

  @functools.cached_property
  def eval_arrays(self):
    return self._encoded(self.config.eval_split)

  def example_batch(self, batch_size):
    return {**self.y_prime_example(batch_size), **self.condition_example(batch_size)}

  def trained_against(self):
    return {"stage1": {"fingerprint": self.stage1.fingerprint, "spec": describe(self.spec)}}

  def _condition(self, batch) -> dict:
    return {key: batch[key] for key in self.condition_keys}

  # ---- sampling
  def decoded_samples(self, params, decoder_weights, condition, rng):
    """Y of sampled Y′, through stage 1's decoder."""
    batch = len(next(iter(condition.values())))
    y_prime = self.sample_y_prime(params, condition, rng)
    return self._decode(decoder_weights, y_prime.reshape(batch, *self.spec.grid, -1))

  def sample_y(self, params, condition: dict[str, np.ndarray], rng) -> np.ndarray:
    """Y for each row of the condition arrays, sampled in chunks of `sampling.batch_size`."""
    size = self.config.sampling.batch_size
    total = len(next(iter(condition.values())))
    chunks = []
    for i in range(0, total, size):
      # Padded to one compiled shape.
      chunk = {k: np.pad(np.asarray(v[i:i + size]), [(0, size - len(v[i:i + size]))]
                         + [(0, 0)] * (np.ndim(v) - 1)) for k, v in condition.items()}
      samples = self._sample_batch(params, self._decoder_weights, chunk, jax.random.fold_in(rng, i))
      chunks.append(np.asarray(samples)[:min(size, total - i)])
    return np.concatenate(chunks)

  def export_fn(self, params):
    """(fn(tree, condition, rng_key) -> Y, tree): the sampler for `regen_jax export`, the
    prior's and stage 1's weights in `tree`, the raw data of a threefry key in."""
    def sample(tree, condition, rng_key):
      rng = jax.random.wrap_key_data(rng_key, impl="threefry2x32")
      return self.decoded_samples(tree["prior"], tree["stage1"], condition, rng)
    return sample, {"prior": params, "stage1": self._decoder_weights}
