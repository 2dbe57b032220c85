"""The music stages, all on the shared token families (`priors.tokens`, "ar" or "maskgit"):

  `Voicing`     template + melody -> alto, tenor, bass (configs/music/voicing.py): trained on the
                chorales alone, each window's template by rule; trained, it is the regen
                harmoniser's stage 1 (`Templates` with this stage as the way back);
  `Harmonizer`  melody -> Y′, over one of two kinds of Y′: the template (configs/music/
                planner.py, regen: melody -> template, then the voicing stage) or the voices
                themselves (configs/music/direct.py, the direct baseline).
X is a window's melody (`windows.melody`): soprano tokens, fermatas, each sixteenth's place in
its bar, and the key, embedded and summed per sixteenth (`MelodyPrefix`).
"""

import dataclasses
import functools
import json
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from regen_jax.domains.music import abstractions, corpus, data, metrics, notation, windows
from regen_jax.domains.music import chords as chords_lib
from regen_jax.errors import UserError
from regen_jax.priors.tokens import TokenPrior
from regen_jax.stages.abstraction import AbstractionStage
from regen_jax.stages.base import SampleFlag

_TRAIN_STRIDE_BEATS = 2  # training windows start every two beats
MELODY = SampleFlag("melody", str, "a melody to harmonise: MusicXML, MIDI or ABC, one part "
                    "(music; default: the first test chorale's soprano)")
WAV = SampleFlag("wav", str, "also render the harmonisation to this WAV file with fluidsynth "
                 "(music)")


class MelodyPrefix(nn.Module):
  """X -> (B, 1 + steps, width): the key, then each sixteenth's soprano token + fermata + bar
  place (+ its beat's chord and cadence mark, with `template`)."""
  width: int
  template: bool = False

  @property
  def length(self) -> int:
    return 1 + windows.WINDOW_STEPS

  @nn.compact
  def __call__(self, inputs):
    embed = lambda size, name: nn.Embed(size, self.width, name=name)
    steps = (embed(windows.VOCAB, "soprano")(inputs["soprano"])
             + embed(2, "fermata")(inputs["fermatas"])
             + embed(windows.MAX_BAR_STEPS, "bar_step")(inputs["bar_steps"]))
    if self.template:
      per_beat = (embed(len(chords_lib.CHORDS), "chord")(inputs["chords"])
                  + embed(len(chords_lib.CADENCES), "cadence")(inputs["cadences"]))
      steps = steps + jnp.repeat(per_beat, windows.WINDOW_STEPS // windows.WINDOW_BEATS, axis=1)
    return jnp.concatenate([embed(windows.KEYS, "key")(inputs["key"]), steps], axis=1)


class MusicPrior(TokenPrior):
  """A music stage: X = a window's melody (+ its template, `uses_template`)."""
  runtime_keys = ("sampling", "num_generated")
  uses_template: bool = False

  def __init__(self, config, workdir):
    self._windows, self._bach = {}, {}
    super().__init__(config, workdir)

  def condition_encoder(self):
    return MelodyPrefix(self.config.model.width, template=self.uses_template)

  def condition_example(self, batch_size):
    steps = np.zeros((batch_size, windows.WINDOW_STEPS), np.int32)
    found = {"soprano": steps, "fermatas": steps, "bar_steps": steps,
             "key": np.zeros((batch_size, 1), np.int32)}
    if self.uses_template:
      beats = np.zeros((batch_size, windows.WINDOW_BEATS), np.int32)
      found.update(chords=beats, cadences=beats)
    return found

  # ---- data
  def windows(self, split: str) -> np.ndarray:
    """The windows of `split`: overlapping ones for training, tiling ones for evaluation."""
    if split not in self._windows:
      stride = _TRAIN_STRIDE_BEATS if split == self.config.train_split else None
      records = data.load(self.config.dataset, split, self.config.data_dir or None)
      self._windows[split] = np.concatenate([windows.cut(r, stride) for r in records])
    return self._windows[split]

  def examples(self, split):
    return self._conditioned(self.windows(split))

  def _conditioned(self, batch: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(this stage's condition arrays, Y) of windows."""
    condition = windows.melody(batch)
    if self.uses_template:
      condition.update(abstractions.template_condition(abstractions.stored_templates(batch)))
    return condition, batch

  @functools.cached_property
  def ranges(self) -> data.VoiceRanges:
    return data.voice_ranges(self.config.dataset, self.config.data_dir or None)

  # ---- sampling: Y′ by this stage, then stage 1's way back, which reads the melody
  def decoded_samples(self, params, decoder_weights, condition, rng):
    y_prime = self.sample_y_prime(params, condition, rng)
    return self.stage1.voice(decoder_weights, y_prime, condition, rng)

  def harmonised(self, params, batch: np.ndarray, seed: int) -> np.ndarray:
    """`batch` windows with their lower voices generated from their melodies."""
    condition, _ = self._conditioned(batch)
    tokens = self.sample_y(params, condition, jax.random.key(seed))
    return windows.with_lower_voices(batch, tokens)

  # ---- evaluation
  @functools.cached_property
  def _voice_nll(self):
    """jit(fn(params, tokens (B, steps, 3), condition) -> NLL (B, 3) of each voice's tokens,
    teacher-forced): the autoregressive family's exact likelihood, split by voice."""
    prefix = self.model.condition.length

    def nll(params, tokens, condition):
      out = self._trunk(params, tokens[:, :-1], condition)[:, prefix - 1:]
      logits = self._logits(params, out, tokens)
      return optax.softmax_cross_entropy_with_integer_labels(logits, tokens).mean(1)
    return jax.jit(nll)

  def voice_nll(self, params, batch: np.ndarray) -> dict[str, float]:
    """Mean NLL per sixteenth of each lower voice of `batch` (nats), given its condition."""
    condition, _ = self._conditioned(batch)
    tokens = windows.lower_voices(batch)
    size = self.config.sampling.batch_size
    nll = np.concatenate([np.asarray(self._voice_nll(
        params, tokens[i:i + size], {k: v[i:i + size] for k, v in condition.items()}))
        for i in range(0, len(batch), size)])
    return {f"nll_{voice}": float(nll[:, v].mean())
            for v, voice in enumerate(corpus.VOICES[1:])}

  def _bach_scores(self, split: str, count: int) -> dict[str, float]:
    """Bach's own scores on the split's first `count` windows (computed once: they do not
    change between evaluations)."""
    if (split, count) not in self._bach:
      reference = self.windows(split)[:count]
      self._bach[split, count] = metrics.scores(reference, reference, self.ranges)
    return self._bach[split, count]

  def on_eval(self, params, model_state, step, full=False):
    """Harmonises the evaluation split's first `num_generated` windows (every one in
    `evaluate`) and scores them beside Bach's (`metrics.py`), with each voice's NLL for an
    autoregressive stage that writes the voices; writes the first window's pitches, generated
    and Bach's, beside them (samples/harmony_<split>_<step>.json)."""
    del model_state
    split = self.config.eval_split
    reference = self.windows(split)[:None if full else self.config.num_generated]
    generated = self.harmonised(params, reference, self.config.seed + step)
    scores = metrics.scores(generated, reference, self.ranges)
    bach = self._bach_scores(split, len(reference))
    os.makedirs(self.output_path(""), exist_ok=True)
    with open(self.output_path(f"harmony_{split}_{step:07d}.json"), "w") as f:
      json.dump({"generated": generated["pitches"][0].tolist(),
                 "bach": reference["pitches"][0].tolist()}, f)
    likelihoods = (self.voice_nll(params, reference) if self.config.prior == "ar"
                   and isinstance(self.stage1, abstractions.Voices) else {})
    return {**likelihoods, **{f"generated_{k}": v for k, v in scores.items()},
            **{f"bach_{k}": v for k, v in bach.items() if not k.startswith("note_accuracy")},
            "num_windows": float(len(reference))}


class Voicing(MusicPrior, AbstractionStage):
  """Template + melody -> the lower voices; trained on chorales alone."""
  uses_template = True
  defining_keys = ("dataset",)

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    if not isinstance(self.stage1, abstractions.Voices):
      raise UserError("the voicing stage writes the voices: its stage1 must be "
                      "regen_jax.domains.music.abstractions:Voices")

  def abstraction(self, params, model_state, step):
    del model_state, step  # Y′ is the rule's: the weights only voice it

    def voicer(weights, template, melody, rng):
      return self.sample_y_prime(
          weights, {**melody, **abstractions.template_condition(template[..., :2])}, rng)
    return abstractions.Templates(voicer, params)

  def rule_abstraction(self):
    return abstractions.Templates()


class Harmonizer(MusicPrior):
  """Melody -> Y′: a template (regen, with the voicing stage as stage 1) or the voices (direct)."""
  sample_flags = (MELODY, WAV)
  sample_suffix = ".musicxml"

  def sample(self, params, model_state, path, melody=None, wav=None):
    """`--melody FILE`: its four-part harmonisation as MusicXML, MIDI and a piano-roll PNG
    (and with `--wav FILE`, audio)."""
    del model_state
    if wav is not None and not wav.endswith(".wav"):
      raise UserError(f"--wav must name a .wav file, got {wav!r}")
    if melody is None:
      record = data.load(self.config.dataset, "test", self.config.data_dir or None)[0]
      chorale = _as_chorale(record)
    else:
      low, high = self.ranges.low[0], self.ranges.high[0]
      chorale = notation.read_melody(melody, (low, high))
    harmonised = self.harmonise(params, chorale, self.config.seed)
    written = notation.write(harmonised, path, wav)
    print("\n".join(written), flush=True)
    return written

  def harmonise(self, params, chorale: corpus.Chorale, seed: int) -> corpus.Chorale:
    """The chorale with its lower voices written by this stage, window after window (each
    harmonised apart; the last one, ending at the end, fills what the others left)."""
    # Rests after the end fill it out to a whole number of beats, and to one window at least.
    first_beat = chorale.first_downbeat % corpus.STEPS_PER_BEAT
    beats = -(-max(chorale.num_steps - first_beat, windows.WINDOW_STEPS)
              // corpus.STEPS_PER_BEAT)
    steps = first_beat + beats * corpus.STEPS_PER_BEAT
    pad = [(0, 0), (0, steps - chorale.num_steps)]
    melody_only = dataclasses.replace(
        chorale, pitches=np.pad(chorale.pitches, pad), onsets=np.pad(chorale.onsets, pad),
        fermatas=np.pad(chorale.fermatas, pad[1]))
    record = dataclasses.asdict(melody_only)
    cut = windows.cut(record, None)
    generated = self.harmonised(params, cut, seed)
    pitches, onsets = melody_only.pitches.copy(), melody_only.onsets.copy()
    starts = windows.window_starts(steps, chorale.first_downbeat, None)
    written = np.zeros(steps, bool)
    for window, start in zip(generated, starts):
      span = np.arange(start, start + windows.WINDOW_STEPS)
      fresh = span[~written[span]]
      pitches[1:, fresh] = window["pitches"][1:, fresh - start]
      onsets[1:, fresh] = window["onsets"][1:, fresh - start]
      written[span] = True
    return dataclasses.replace(chorale, pitches=pitches[:, :chorale.num_steps],
                               onsets=onsets[:, :chorale.num_steps])


def _as_chorale(record: dict) -> corpus.Chorale:
  """A record of `data.load` as a `corpus.Chorale`."""
  return corpus.Chorale(record["name"], record["pitches"], record["onsets"],
                        record["fermatas"], int(record["tonic"]), record["mode"],
                        record["meter"], int(record["first_downbeat"]))
