"""Speech recognition, stage Y′ -> Y: phonemes -> text (configs/asr/p2g.py), trained on text alone.

Training pairs come from the rule, so no speech is needed: each line of the text corpus
(`text_corpus.py`, 3x the speech corpus's sentences plus dictionary words) gives the phoneme
front end's symbols as X and the characters of its spoken form (its stage 1, the
spoken-characters rule) as target. The CTC family over a phoneme encoder that repeats each
phoneme `upsample` times with a per-copy embedding (a word has more letters than phonemes:
"though" is DH OW1); every output attends to the whole sentence, so spelling can depend on
context (there / their).

Trained, it provides `PhonemeAbstraction`: the phoneme rule one way, this stage's spelling the
other (the recognizer's stage 1). Sequences longer than `max_phonemes` are spelled in pieces cut
at word boundaries, never cut off.
"""

import functools

import flax.linen as nn
import numpy as np

from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.data import pipeline
from regen_jax.domains.speech import language_model
from regen_jax.domains.speech import text_corpus  # noqa: F401  (registers the TFDS builder)
from regen_jax.domains.speech.utterances import TEXT
from regen_jax.errors import UserError
from regen_jax.evaluate import text as text_metrics
from regen_jax.priors.ctc import CTCPrior
from regen_jax.priors.ctc_algorithms import LabelScorer
from regen_jax.stages.abstraction import Abstraction, AbstractionStage
from regen_jax.stages.specs import SymbolSpec, rule_fingerprint

_SHOWN = 2


class PhonemeAbstraction(Abstraction):
  """Text <-> phoneme ids: the front end's rule (`abstractions.phonemes`) one way; a trained
  phoneme-to-grapheme stage's spelling (`speller(sequences) -> texts`) the other, when given."""
  spec = SymbolSpec(phoneme_lib.SYMBOLS, phoneme_lib.SYMBOL_TABLE_VERSION, "phonemes")
  fingerprint = rule_fingerprint(spec)

  def __init__(self, speller=None):
    self._speller = speller
    self.decodes = speller is not None

  def encode(self, texts: list[str]) -> list[np.ndarray]:
    return [phoneme_lib.encode(text) for text in texts]

  def decode(self, sequences, scorer: LabelScorer | None = None,
             beam_size: int | None = None) -> list[str]:
    """Texts of phoneme id sequences: the speller's greedy spelling, or its beam search of
    `beam_size` fused with `scorer` (a word language model) when given."""
    if self._speller is None:
      raise UserError("phonemes -> text needs the trained phoneme-to-grapheme stage: pass "
                      "--config.stage1.workdir=DIR (a trained configs/asr/p2g.py)")
    return self._speller(sequences, scorer, beam_size)


class PhonemeUpsampler(nn.Module):
  """X = phoneme ids (B, P) and counts -> (B, P * upsample, width) frames and their lengths."""
  num_symbols: int
  width: int
  max_phonemes: int
  upsample: int

  @property
  def max_length(self) -> int:
    return self.max_phonemes * self.upsample

  @nn.compact
  def __call__(self, inputs):
    x = nn.Embed(self.num_symbols, self.width)(inputs["phonemes"])[:, :, None]
    x = x + self.param("copy_embed", nn.initializers.normal(0.02), (self.upsample, self.width))
    return x.reshape(x.shape[0], -1, self.width), inputs["num_phonemes"] * self.upsample


def phoneme_rows(sequences, max_phonemes: int) -> dict[str, np.ndarray]:
  """Padded `phonemes` and `num_phonemes` of id sequences of at most `max_phonemes`."""
  phonemes = np.zeros((len(sequences), max_phonemes), np.int32)
  for row, ids in enumerate(sequences):
    if len(ids) > max_phonemes:
      raise ValueError(f"{len(ids)} phonemes exceed max_phonemes={max_phonemes}")
    phonemes[row, :len(ids)] = ids
  return {"phonemes": phonemes, "num_phonemes": np.array([len(s) for s in sequences], np.int32)}


def word_pieces(ids, limit: int) -> list[list[int]]:
  """`ids` cut at word boundaries into pieces of at most `limit` ids (the boundary at a cut is
  dropped: the pieces' texts are joined by a space)."""
  boundary = phoneme_lib.symbol_to_id[phoneme_lib.BOUNDARY]
  words, current = [], []
  for i in [int(i) for i in ids] + [boundary]:
    if i == boundary:
      words.append(current)
      current = []
    else:
      current.append(i)
  pieces = [[]]
  for word in words:
    if len(word) > limit:
      raise UserError(f"a word of {len(word)} phonemes exceeds max_phonemes={limit}")
    joined = pieces[-1] + [boundary] + word if pieces[-1] else word
    if len(joined) <= limit:
      pieces[-1] = joined
    else:
      pieces.append(word)
  return [piece for piece in pieces if piece]


class PhonemeToGrapheme(CTCPrior, AbstractionStage):
  sample_flags = (TEXT,)
  sample_suffix = ".txt"
  runtime_keys = CTCPrior.runtime_keys + ("num_decoded", "language_model")

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    self._splits = {}

  def condition_encoder(self):
    return PhonemeUpsampler(phoneme_lib.NUM_SYMBOLS, self.config.model.width,
                            self.config.max_phonemes, self.config.upsample)

  def encoder_inputs(self, model_state, batch, rng=None):
    del model_state, rng  # no state, no augmentation
    return {"phonemes": batch["phonemes"], "num_phonemes": batch["num_phonemes"]}

  # ---- data: the rule's phonemes of each line, and its characters
  def _text_arrays(self, texts: list[str]) -> tuple[dict[str, np.ndarray], list[str]]:
    """Rule phonemes and spoken-form characters of the lines that fit the limits, and those
    lines."""
    config = self.config
    max_characters = config.max_phonemes * config.upsample
    pairs, kept = [], []
    for text in texts:
      try:
        ids, characters = phoneme_lib.encode(text), self.stage1.encode([text])[0]
      except UserError:  # a character the front end has no rule for
        continue
      if len(ids) <= config.max_phonemes and len(characters) <= max_characters:
        pairs.append((ids, characters))
        kept.append(text)
    if not pairs:
      raise UserError(f"no line of {config.dataset!r} fits max_phonemes={config.max_phonemes}")
    if len(pairs) < len(texts):
      print(f"{len(texts) - len(pairs)} of {len(texts)} lines are too long or have characters "
            f"the front end rejects, and are left out", flush=True)
    labels = np.zeros((len(pairs), max_characters), np.int32)
    for row, (_, characters) in enumerate(pairs):
      labels[row, :len(characters)] = characters
    arrays = dict(phoneme_rows([ids for ids, _ in pairs], config.max_phonemes), labels=labels,
                  num_labels=np.array([len(c) for _, c in pairs], np.int32))
    return arrays, kept

  def split(self, split: str):
    if split not in self._splits:
      records = pipeline.read_split(self.config.dataset, split, self.config.data_dir)
      self._splits[split] = self._text_arrays([r["text"].decode() for r in records])
    return self._splits[split]

  @property
  def train_arrays(self):
    return self.split(self.config.train_split)[0]

  @property
  def eval_arrays(self):
    return self.split(self.config.eval_split)[0]

  def example_batch(self, batch_size: int) -> dict[str, np.ndarray]:
    width = self.config.max_phonemes * self.config.upsample
    return {"phonemes": np.zeros((batch_size, self.config.max_phonemes), np.int32),
            "num_phonemes": np.ones((batch_size,), np.int32),
            "labels": np.zeros((batch_size, width), np.int32),
            "num_labels": np.ones((batch_size,), np.int32)}

  # ---- spelling, and the abstraction it provides
  def transcribe(self, params, model_state, sequences, scorer: LabelScorer | None = None,
                 beam_size: int | None = None) -> list[str]:
    """Text of phoneme id sequences (no leading boundary), e.g. a recognizer's output: greedy, or
    beam search fused with `scorer`."""
    pieces = [word_pieces(ids, self.config.max_phonemes) for ids in sequences]
    flat = [piece for row in pieces for piece in row]
    rows = phoneme_rows(flat, self.config.max_phonemes)
    spelled = iter(self.stage1.decode(self.decode(params, model_state, rows, beam_size, scorer))
                   if flat else [])
    return [" ".join(next(spelled) for _ in row) for row in pieces]

  def abstraction(self, params, model_state, step):
    return PhonemeAbstraction(functools.partial(self.transcribe, params, model_state))

  def rule_abstraction(self):
    return PhonemeAbstraction()

  def on_eval(self, params, model_state, step, full=False):
    """Greedy spelling of `num_decoded` validation sentences' rule phonemes (all, plus beam
    search with the word language model, `lm_*`, if full)."""
    count = None if full else self.config.num_decoded
    arrays = {k: v[:count] for k, v in self.eval_arrays.items()}
    sequences = [row[:n] for row, n in zip(arrays["phonemes"], arrays["num_phonemes"])]
    spoken = [phoneme_lib.spoken_text(t) for t in self.split(self.config.eval_split)[1][:count]]
    decodings = {"": self.transcribe(params, model_state, sequences)}
    if full:
      lm = self.config.language_model
      decodings["lm_"] = self.transcribe(params, model_state, sequences, language_model.word_scorer(
          lm, self.config.data_dir), lm.beam_size)
    scores = {}
    for prefix, written in decodings.items():
      for reference, text in list(zip(spoken, written))[:_SHOWN]:
        print(f"reference: {reference}\n{prefix}text: {text}", flush=True)
      scores.update({f"{prefix}cer": text_metrics.char_error_rate(spoken, written),
                     f"{prefix}wer": text_metrics.word_error_rate(spoken, written)})
    return scores

  def sample(self, params, model_state, path, text=None):
    """`--text`: the rule's phonemes of the text and this stage's spelling of them."""
    if not text:
      raise UserError("give a sentence whose phonemes to spell: --text 'Hello there.'")
    ids = phoneme_lib.encode(text)
    lines = [f"phonemes: {phoneme_lib.to_string(ids)}",
             f"text: {self.transcribe(params, model_state, [ids])[0]}"]
    print("\n".join(lines), flush=True)
    with open(path, "w") as f:
      f.write("\n".join(lines) + "\n")
    return [path]
