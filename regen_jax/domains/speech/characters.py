"""The spoken-characters rule: text <-> the character ids of its spoken form.

Y′ here is Y itself (`phonemes.spoken_text`: numbers, abbreviations and symbols as read,
lowercase, pauses dropped), so a recognizer over it is the direct speech -> text baseline, and
phoneme-to-grapheme writes it.
"""

import numpy as np

from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.stages.abstraction import Abstraction
from regen_jax.stages.specs import SymbolSpec, rule_fingerprint


class SpokenCharacters(Abstraction):
  spec = SymbolSpec(phoneme_lib.CHARACTERS, phoneme_lib.CHARACTER_TABLE_VERSION, "characters")
  fingerprint = rule_fingerprint(spec)

  @classmethod
  def from_config(cls, config):
    del config  # the rule has no settings
    return cls()

  def encode(self, texts: list[str]) -> list[np.ndarray]:
    return [phoneme_lib.encode_characters(text) for text in texts]

  def decode(self, sequences) -> list[str]:
    return [phoneme_lib.decode_characters(ids) for ids in sequences]
