"""The stage contract between Y and Y′: `Abstraction`, and the stage 1 that provides one.

An abstraction turns Y into Y′ (`encode`) and back (`decode`), and states what Y′ is (`spec`,
`fingerprint`). It is either a handcrafted rule (pixel patches, spoken characters: built from
its config alone, `Abstraction.from_config`) or what a trained stage 1 provides
(`AbstractionStage.abstraction`): a learned tokenizer, or a rule whose way back is trained (the
mel rule with a vocoder, the phoneme rule with phoneme-to-grapheme).
"""

import abc
import hashlib
from typing import Any, Callable

import jax
import numpy as np

from regen_jax.errors import UserError
from regen_jax.stages.base import Stage
from regen_jax.stages.specs import Spec


class Abstraction(abc.ABC):
  """Y <-> Y′. `fingerprint` identifies what `encode` makes exactly (a rule's settings, or a
  learned stage's step and weights): a stage 2 records it in every checkpoint and refuses a
  stage 1 whose fingerprint differs."""
  spec: Spec
  fingerprint: str
  decodes: bool = True  # False for a rule whose way back is a stage 1 that was not given

  @classmethod
  def from_config(cls, config) -> "Abstraction":
    """A rule, from its nested stage-1 config alone."""
    raise UserError(f"{cls.__name__} is trained: give its workdir")

  @abc.abstractmethod
  def encode(self, y):
    """Y (a batch) -> Y′."""

  @abc.abstractmethod
  def decode(self, y_prime):
    """Y′ (a batch) -> Y."""

  def decoder(self) -> tuple[Callable, Any]:
    """(fn(weights, y′) -> y, weights): `decode` as a pure JAX function with the arrays it reads
    as an argument, to compose into a jitted or exported sampler."""
    raise UserError(f"{type(self).__name__} does not decode Y′ with a JAX function")


class AbstractionStage(Stage):
  """A stage 1: trained on Y alone, it provides a stage 2's abstraction.

  `defining_keys` are the keys of its config that fix Y′ (and so what a stage 2 derives from its
  nested copy of this config); they must equal the trained workdir's."""
  defining_keys: tuple[str, ...] = ()

  @abc.abstractmethod
  def abstraction(self, params, model_state, step: int) -> Abstraction:
    """The abstraction this stage's trained weights provide."""

  def rule_abstraction(self) -> Abstraction:
    """The abstraction without trained weights: for a rule whose way back is trained, the rule
    (with a stand-in decoder or none); a learned abstraction has none."""
    raise UserError(f"{type(self).__name__} is a learned abstraction: train it and pass its "
                    f"workdir as --config.stage1.workdir")


def weights_fingerprint(kind: str, step: int, tree) -> str:
  """`<kind>-step<step>-<hash of every array>`: a learned abstraction's identity."""
  leaves = [np.asarray(x).tobytes() for x in jax.tree.leaves(tree)]
  return f"{kind}-step{step}-{hashlib.sha256(b''.join(leaves)).hexdigest()[:12]}"
