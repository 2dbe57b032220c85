"""Y′ of music. Y is a batch of windows (`windows.WINDOW`); its lower voices are what the models
write.

  `Voices`     alto, tenor and bass tokens, one position per sixteenth (the direct baseline's
               rule, and the voicing stage's target);
  `Templates`  the chord template (`chords.py`), one position per beat holding its chord and
               cadence mark; the way back is the trained voicing stage, which reads the melody
               too (`voice(weights, y′, melody, rng)`).
"""

import jax
import numpy as np

from regen_jax.domains.music import chords as chords_lib
from regen_jax.domains.music import corpus, windows
from regen_jax.errors import UserError
from regen_jax.stages.abstraction import Abstraction
from regen_jax.stages.specs import TokenSpec, rule_fingerprint


def stored_templates(batch: np.ndarray) -> np.ndarray:
  """The template (B, beats, 2) the rule made of each window's whole chorale when the dataset
  was built (`data.py`): each beat's chord symbol and cadence mark."""
  return np.stack([batch["chords"], batch["cadences"]], -1)


def templates(batch: np.ndarray) -> np.ndarray:
  """The rule's template (B, beats, 2) of each window on its own (of generated voices, say):
  each beat's chord symbol and cadence mark."""
  found = np.zeros((len(batch), windows.WINDOW_BEATS, 2), np.int32)
  for row, window in enumerate(batch):
    chorale = corpus.Chorale("window", window["pitches"], window["onsets"], window["fermatas"],
                             tonic=int(window["key"]) % 12, mode="", meter="",
                             first_downbeat=0)
    symbols = chords_lib.chords(chorale)
    found[row] = np.stack([symbols, chords_lib.cadences(chorale, symbols)], -1)
  return found


def template_condition(template) -> dict:
  """The voicing stage's extra condition arrays from template tokens (B, beats, 2)."""
  return {"chords": template[..., 0], "cadences": template[..., 1]}


class Voices(Abstraction):
  """Y′ = Y: the lower voices' tokens."""
  spec = TokenSpec(windows.VOCAB, (windows.WINDOW_STEPS,), len(corpus.VOICES) - 1, "voices")
  fingerprint = rule_fingerprint(spec)

  @classmethod
  def from_config(cls, config):
    del config
    return cls()

  def encode(self, batch):
    return windows.lower_voices(batch)

  def decode(self, tokens):
    return np.asarray(tokens).reshape(len(tokens), *self.spec.grid, -1)

  def decoder(self):
    return self.voice, {}

  def voice(self, weights, tokens, melody=None, rng=None):
    """Y of Y′: the tokens themselves."""
    del weights, melody, rng
    return tokens.reshape(len(tokens), *self.spec.grid, -1)


class Templates(Abstraction):
  """Y -> its chord template by rule; template + melody -> voices by a trained voicing stage
  (`voicer`: fn(weights, template, melody, rng) -> voice tokens, and its `weights`), when
  given."""
  spec = TokenSpec(len(chords_lib.CHORDS), (windows.WINDOW_BEATS,), 2, "template")
  fingerprint = f"{rule_fingerprint(spec)}-rule{chords_lib.RULE_VERSION}"

  def __init__(self, voicer=None, weights=None):
    self._voicer, self._weights = voicer, weights
    self.decodes = voicer is not None

  def encode(self, batch):
    return stored_templates(batch)

  def _require_voicer(self):
    if self._voicer is None:
      raise UserError("template -> voices needs the trained voicing stage: pass "
                      "--config.stage1.workdir=DIR (a trained configs/music/voicing.py)")

  def decode(self, template):
    raise UserError("a template is voiced together with its melody: sample the harmoniser")

  def decoder(self):
    return (lambda weights, template: self.decode(template)), self._weights

  def voice(self, weights, template, melody, rng):
    """Voice tokens (B, steps, 3) for template tokens (B, beats, 2) and the melody arrays."""
    self._require_voicer()
    return self._voicer(weights, template.reshape(len(template), *self.spec.grid, -1),
                        melody, jax.random.fold_in(rng, 1))
