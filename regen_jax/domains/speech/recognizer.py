"""Speech recognition, X -> Y′: speech -> the symbols of stage 1, the CTC family over standardised
log-mels (configs/asr/recognizer.py: phonemes, with phoneme-to-grapheme as stage 1; and
configs/asr/direct.py: the spoken-characters rule, the direct baseline). Same encoder, loss and
budget; only the CTC vocabulary differs.

Targets are stage 1's encoding of the transcript: the phoneme front end's symbols (word
boundaries and pauses kept: phoneme-to-grapheme needs them) or the characters of its spoken form
(`phonemes.spoken_text`: numbers and abbreviations spelled out, as they are spoken). Inputs are
standardised log-mels (per-bin statistics of the first training batch, kept in the checkpoint),
SpecAugment-masked in training. Evaluation decodes held-out utterances greedily, and in
`evaluate` also by prefix beam search (`beam_*` metrics), by beam search with the word
language model's help (`lm_*`, `language_model.py`) and by lexicon decoding (`lexicon_*`, the
language model over its closed vocabulary; see `Recognizer.transcripts`): PER for phonemes;
CER and WER of the transcript whenever stage 1 turns the symbols into text (characters;
phonemes with a trained phoneme-to-grapheme stage 1, then scoring the whole pipeline
speech -> phonemes -> text).
"""

import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.domains.speech import audio_input, language_model
from regen_jax.domains.speech.utterances import AUDIO, SpeechData
from regen_jax.errors import UserError
from regen_jax.evaluate import text as text_metrics
from regen_jax.priors import frames as frames_lib
from regen_jax.priors.ctc import CTCPrior

_SHOWN = 2  # transcripts printed at each evaluation (all are written to samples/)
DECODINGS = ("greedy", "beam", "lm", "lexicon")  # see Recognizer.transcripts


class ConvBlock(nn.Module):
  """Pre-norm residual 1-D convolution: local context the attention layers need not learn."""
  kernel_size: int
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, x, mask):
    # Padding frames are zeroed before the convolution, so they never leak into real frames.
    h = nn.LayerNorm(dtype=self.dtype)(x) * mask
    return x + nn.gelu(nn.Conv(x.shape[-1], (self.kernel_size,), dtype=self.dtype)(h)) * mask


class SpeechEncoder(nn.Module):
  """X = standardised log-mel (B, F, n_mels) and frame counts -> stride-2 convolutions (each
  halves the frame rate; CTC needs at least one output per label, plus blanks between repeats)
  -> residual convolutions (local context, which made CTC leave its all-blank plateau sooner)."""
  width: int
  max_frames: int
  num_subsampling_convs: int = 1
  num_conv_blocks: int = 2
  conv_kernel_size: int = 5
  dtype: jnp.dtype = jnp.float32

  @property
  def frames_per_output(self) -> int:
    return 2 ** self.num_subsampling_convs

  @property
  def max_length(self) -> int:
    return self.max_frames // self.frames_per_output

  @nn.compact
  def __call__(self, inputs):
    x = inputs["mel"].astype(self.dtype)
    for _ in range(self.num_subsampling_convs):
      x = nn.gelu(nn.Conv(self.width, (3,), strides=2, dtype=self.dtype)(x))
    if not self.num_subsampling_convs:
      x = nn.Dense(self.width, dtype=self.dtype)(x)
    lengths = -(-inputs["num_frames"] // self.frames_per_output)  # a partial window has a frame
    mask = (jnp.arange(x.shape[1])[None] < lengths[:, None])[..., None].astype(self.dtype)
    for _ in range(self.num_conv_blocks):
      x = ConvBlock(self.conv_kernel_size, self.dtype)(x, mask)
    return x, lengths


def _band_masks(rng, lengths, size: int, count: int, max_width):
  """(B, size) bool: `count` random bands per row, each up to `max_width` (B,) wide, inside
  the row's first `lengths` positions."""
  width_rng, start_rng = jax.random.split(rng)
  shape = (lengths.shape[0], count)
  widths = jnp.floor(jax.random.uniform(width_rng, shape) * (max_width[:, None] + 1))
  starts = jnp.floor(jax.random.uniform(start_rng, shape) * jnp.maximum(
      lengths[:, None] - widths, 0))
  position = jnp.arange(size)[None, None]
  inside = (position >= starts[..., None]) & (position < (starts + widths)[..., None])
  return inside.any(axis=1)


def spec_augment(rng, mel, num_frames, num_freq_masks: int, max_freq_width: int,
                 num_time_masks: int, max_time_fraction: float):
  """SpecAugment's masking (Park et al. 2019): `mel` (B, F, n_mels) with random mel-bin bands and
  frame bands set to 0 (the mean of standardised log-mels); time bands are at most
  `max_time_fraction` of each utterance."""
  freq_rng, time_rng = jax.random.split(rng)
  batch, frames, bins = mel.shape
  freq = _band_masks(freq_rng, jnp.full((batch,), bins), bins, num_freq_masks,
                     jnp.full((batch,), max_freq_width))
  time = _band_masks(time_rng, num_frames, frames, num_time_masks,
                     jnp.floor(num_frames * max_time_fraction))
  return jnp.where(freq[:, None, :] | time[:, :, None], 0.0, mel)


class Recognizer(SpeechData, CTCPrior):
  sample_flags = (AUDIO,)
  sample_suffix = ".txt"
  # Decoding settings, its own and those of phoneme-to-grapheme's (its nested config): they
  # change no trained parameter.
  runtime_keys = CTCPrior.runtime_keys + (
      "num_decoded", "beam_size", "language_model", "score_pocketsphinx", "sample_decoding",
      "stage1.language_model", "stage1.beam_label_floor")

  def condition_encoder(self):
    model = self.config.model
    return SpeechEncoder(model.width, self.config.max_frames, model.num_subsampling_convs,
                         model.num_conv_blocks, model.conv_kernel_size,
                         jnp.dtype(self.config.compute_dtype))

  def init_model_state(self, batch):
    return {"frame_stats": frames_lib.statistics(self.log_mel(batch), batch["num_frames"])}

  def encoder_inputs(self, model_state, batch, rng=None):
    mel = frames_lib.standardize(self.log_mel(batch), model_state["frame_stats"])
    if rng is not None:
      mel = spec_augment(rng, mel, batch["num_frames"], **self.config.spec_augment)
    return {"mel": mel, "num_frames": batch["num_frames"]}

  # ---- data: stage 1's encoding of each transcript as CTC labels
  def prepare(self, arrays, texts):
    """`arrays` plus `labels` and `num_labels`; rows longer than `max_labels` are left out."""
    ids = self.stage1.encode(texts)
    keep = np.array([len(i) <= self.config.max_labels for i in ids])
    labels = np.zeros((len(ids), self.config.max_labels), np.int32)
    for row in np.flatnonzero(keep):
      labels[row, :len(ids[row])] = ids[row]
    if not keep.all():
      print(f"{(~keep).sum()} transcripts exceed max_labels and are left out", flush=True)
    arrays = dict(arrays, labels=labels, num_labels=np.array([len(i) for i in ids], np.int32))
    return {k: v[keep] for k, v in arrays.items()}, [t for t, k in zip(texts, keep) if k]

  def example_batch(self, batch_size):
    return dict(super().example_batch(batch_size),
                labels=np.zeros((batch_size, self.config.max_labels), np.int32),
                num_labels=np.ones((batch_size,), np.int32))

  # ---- transcripts and scores
  @property
  def _phonemes(self) -> bool:
    """Whether the symbols are phonemes, which a trained speller (phoneme-to-grapheme) turns
    into text, rather than characters (text by rule)."""
    return self.spec.name == "phonemes"

  def transcripts(self, params, model_state, arrays,
                  decoding: str = "greedy") -> tuple[list[list[int]], list[str]]:
    """Symbols and text of every row, by `decoding` (one of DECODINGS): "greedy"; "beam",
    prefix beam search of `beam_size`; "lm", the word language model joins the beam search that
    writes characters (`language_model.beam_size` wide): this stage's own for the direct
    baseline, phoneme-to-grapheme's for the pipeline; "lexicon", the language model over its
    closed vocabulary joins this stage's own search (`closed_beam_size` wide), so the
    pipeline's phonemes are words of the rule's lexicon (no phoneme-to-grapheme model is used)
    and direct spells vocabulary words."""
    if decoding not in DECODINGS:
      raise ValueError(f"decoding must be one of {DECODINGS}, got {decoding!r}")
    lm = self.config.language_model
    symbols_kind = "phonemes" if self._phonemes else "characters"
    if decoding == "lexicon":
      scorer = language_model.word_scorer(lm, self.config.data_dir, symbols_kind, closed=True)
      symbols = self.decode(params, model_state, arrays, lm.closed_beam_size, scorer)
      if self._phonemes:
        return symbols, [" ".join(scorer.words(s)) for s in symbols]
      return symbols, self.stage1.decode(symbols)
    scorer = language_model.word_scorer(lm, self.config.data_dir) if decoding == "lm" else None
    if scorer is not None and not self._phonemes:
      symbols = self.decode(params, model_state, arrays, lm.beam_size, scorer)
    else:
      symbols = self.decode(params, model_state, arrays,
                            None if decoding == "greedy" else self.config.beam_size)
    if not self.stage1.decodes:
      return symbols, [""] * len(symbols)
    if scorer is not None and self._phonemes:  # it spells them
      return symbols, self.stage1.decode(symbols, scorer, lm.beam_size)
    return symbols, self.stage1.decode(symbols)

  def _scores(self, hypotheses, written, arrays, texts, prefix: str,
              step: int) -> dict[str, float]:
    """PER (phonemes), CER and WER (when stage 1 gives text) of one decoding of the rows."""
    scores = {}
    if self._phonemes:
      references = [row[:n] for row, n in zip(arrays["labels"], arrays["num_labels"])]
      scores["per"] = text_metrics.phoneme_error_rate(references, hypotheses)
    spoken = [phoneme_lib.spoken_text(t) for t in texts]
    if self.stage1.decodes:
      scores["cer"] = text_metrics.char_error_rate(spoken, written)
      scores["wer"] = text_metrics.word_error_rate(spoken, written)
    shown = lambda h: f"phonemes:  {phoneme_lib.to_string(h)}\n" if self._phonemes else ""
    lines = [f"reference: {s}\n{shown(h)}text:      {w}\n"
             for s, h, w in zip(spoken, hypotheses, written)]
    os.makedirs(self.output_path(""), exist_ok=True)
    with open(self.output_path(f"{prefix}transcripts_{step:07d}.txt"), "w") as f:
      f.write("\n".join(lines))
    print("".join(lines[:_SHOWN]), end="", flush=True)
    return {prefix + k: v for k, v in scores.items()}

  def on_eval(self, params, model_state, step, full=False):
    """Greedy decodes of `num_decoded` validation utterances (all, and every other decoding of
    DECODINGS that writes text, if full)."""
    count = None if full else self.config.num_decoded
    arrays = {k: v[:count] for k, v in self.eval_arrays.items()}
    texts = self.eval_texts[:count]
    scores = self._scores(*self.transcripts(params, model_state, arrays), arrays, texts, "", step)
    for decoding in (DECODINGS[1:] if full else ()):
      if decoding == "beam" or self.stage1.decodes:  # the others write text
        scores.update(self._scores(*self.transcripts(params, model_state, arrays, decoding),
                                   arrays, texts, f"{decoding}_", step))
    if full and self.config.score_pocketsphinx:  # a recognizer we did not train, same audio
      waves = arrays["audio"].astype(np.float32) / 32768
      scores.update(self.intelligibility("pocketsphinx", step, waves, arrays["num_frames"]))
    return dict(scores, utterances=len(texts)) if full else scores

  def sample(self, params, model_state, path, audio=None):
    """`--audio FILE.wav`: prints (and writes to `path`) the transcript of the `sample_decoding`
    (and its phonemes, for the regen pipeline)."""
    if not audio:
      raise UserError("give a recording to transcribe: --audio speech.wav")
    if self.config.sample_decoding not in DECODINGS:
      raise UserError(f"--config.sample_decoding={self.config.sample_decoding}: give one of "
                      f"{', '.join(DECODINGS)}")
    rate, hop = self.mel_config.sample_rate, self.mel_config.hop_length
    samples = audio_input.load_audio(audio, rate, max_seconds=self.config.max_frames * hop / rate)
    if audio_input.clipped_fraction(samples) >= audio_input.CLIPPED_WARNING:
      print(f"warning: {audio_input.clipped_fraction(samples):.1%} of {audio}'s samples are "
            f"clipped; the transcript may suffer", flush=True)
    num_frames = len(samples) // hop
    if num_frames * hop < 0.1 * rate:
      raise UserError(f"{audio} is {len(samples) / rate:.3f} s long: too short to hold a word")
    batch = {"audio": np.zeros((1, self.config.max_frames * hop), np.int16),
             "num_frames": np.array([num_frames], np.int32)}
    batch["audio"][0, :num_frames * hop] = np.round(samples[:num_frames * hop] * 32767)
    decoding = self.config.sample_decoding if self.stage1.decodes else "beam"
    symbols, written = self.transcripts(params, model_state, batch, decoding)
    lines = []
    if self._phonemes:
      lines.append(f"phonemes: {phoneme_lib.to_string(symbols[0])}")
    if self.stage1.decodes:
      lines.append(f"text: {written[0]}")
    print("\n".join(lines), flush=True)
    with open(path, "w") as f:
      f.write("\n".join(lines) + "\n")
    return [path]
