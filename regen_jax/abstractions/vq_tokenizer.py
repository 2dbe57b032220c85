"""A trained VQ tokenizer (stage 1 of the image domain) as an abstraction for stage 2."""

import hashlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from regen_jax.abstractions import check_images
from regen_jax.errors import UserError

# Keys of stage 1's config that define its codes; a stage-2 config must agree with the workdir's.
_DEFINING_KEYS = ("model", "vq", "dataset")


def _differences(expected, saved, prefix=""):
  for key, value in expected.items():
    name = f"{prefix}{key}"
    if isinstance(value, ml_collections.ConfigDict):
      yield from _differences(value, saved.get(key, ml_collections.ConfigDict()), name + ".")
    elif list(np.atleast_1d(value)) != list(np.atleast_1d(saved.get(key))):
      yield f"{name}: config has {value!r}, stage 1 has {saved.get(key)!r}"


class VQTokenizer:

  def __init__(self, task, params, vq_state, step: int):
    self._task, self._params, self._vq_state = task, params, vq_state
    self.image_shape, self.grid = task.image_shape, task.grid
    self.tokens_per_position, self.vocab_size = 1, task.config.vq.codebook_size
    leaves = [np.asarray(x).tobytes() for x in jax.tree.leaves((params, vq_state))]
    digest = hashlib.sha256(b"".join(leaves)).hexdigest()[:12]
    self.fingerprint = f"vq-step{step}-{digest}"
    self._encode = jax.jit(lambda x: task.encode(params, vq_state, x)[..., None])

  def encode(self, images):
    return self._encode(check_images(images, self.image_shape))

  def decode(self, tokens):
    return jnp.clip(self._task.decode(self._params, self._vq_state, tokens[..., 0]), 0, 1)


def load(stage1_config, stage1_workdir, image_shape):
  from regen_jax.train import loop  # the loop imports abstractions: import late

  saved = loop.saved_config(stage1_workdir, "the tokenizer (stage 1)")
  defining = lambda config: ml_collections.ConfigDict({k: config.get(k) for k in _DEFINING_KEYS})
  differences = list(_differences(defining(stage1_config), defining(saved)))
  if differences:
    raise UserError(f"stage-1 config does not match the tokenizer in {stage1_workdir}: "
                    + "; ".join(differences))
  task, params, vq_state, step = loop.restore_for_inference(saved, stage1_workdir)
  if tuple(task.image_shape) != tuple(image_shape):
    raise UserError(f"tokenizer in {stage1_workdir} was trained on images of shape "
                    f"{task.image_shape}, this dataset has {image_shape}")
  return VQTokenizer(task, params, vq_state, step)
