"""What Y′ is: the spec a stage 2 reads from its stage 1's abstraction.

Three kinds: discrete tokens on a grid (`TokenSpec`: VQ codes, pixel patches), continuous latents
on a grid (`LatentSpec`), and the output of a handcrafted rule (`FrameSpec`: mel frames with
their settings; `SymbolSpec`: phoneme or character sequences with their symbol table). A spec is
frozen and describes itself as JSON, which is how rules are fingerprinted and exports record Y′.
"""

import dataclasses
import hashlib
import json
import math
from typing import Any


@dataclasses.dataclass(frozen=True)
class TokenSpec:
  """A grid of positions, each holding `tokens_per_position` ids in [0, vocab_size)."""
  vocab_size: int
  grid: tuple[int, ...]
  tokens_per_position: int = 1
  name: str = "tokens"

  @property
  def num_positions(self) -> int:
    return math.prod(self.grid)


@dataclasses.dataclass(frozen=True)
class LatentSpec:
  """A grid of `channels`-vectors, standardised by the abstraction as (z - shift) / scale with
  statistics measured on training data."""
  grid: tuple[int, ...]
  channels: int
  shift: float = 0.0
  scale: float = 1.0
  name: str = "latents"

  @property
  def num_positions(self) -> int:
    return math.prod(self.grid)


@dataclasses.dataclass(frozen=True)
class FrameSpec:
  """A sequence of frames of `features` values each, made by a rule with `settings` (a frozen
  dataclass with `as_dict()`, e.g. `abstractions.mel.MelConfig`)."""
  features: int
  settings: Any
  name: str = "frames"


@dataclasses.dataclass(frozen=True)
class SymbolSpec:
  """Sequences of ids into a fixed, versioned table of `symbols`; id 0 is padding (and the CTC
  blank). E.g. phonemes with word boundaries and pauses, or the characters of spoken text."""
  symbols: tuple[str, ...]
  version: int
  name: str = "symbols"

  @property
  def vocab_size(self) -> int:
    return len(self.symbols)


Spec = TokenSpec | LatentSpec | FrameSpec | SymbolSpec


def describe(spec: Spec) -> dict:
  """The spec as JSON (a rule's settings included)."""
  fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
  if isinstance(spec, FrameSpec):
    fields["settings"] = spec.settings.as_dict()
  return {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}


def rule_fingerprint(spec: Spec) -> str:
  """`<name>-<hash>` of everything a rule's output depends on: equal iff the Y′ are."""
  text = json.dumps(describe(spec), sort_keys=True)
  return f"{spec.name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
