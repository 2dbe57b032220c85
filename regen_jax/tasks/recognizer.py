"""Speech recognition, stage X -> Y': speech -> phonemes (configs/asr_recognizer.py), and the
direct baseline X -> Y: speech -> characters (configs/asr_direct.py). One task, two targets:
the same encoder (`models/recognizer.SpeechRecognizer`), loss and budget; only the CTC
vocabulary differs.

Targets: the phoneme front end's symbols of the transcript (word boundaries and pauses kept:
phoneme-to-grapheme needs them), or the characters of its spoken form (`phonemes.spoken_text`:
numbers and abbreviations spelled out, as they are spoken). Inputs are standardised log-mels
(per-bin statistics of the first training batch, kept in the checkpoint), SpecAugment-masked in
training. Evaluation decodes held-out utterances greedily, and in `evaluate` also by prefix beam
search (`beam_*` metrics): PER for phonemes; CER and WER of the transcript for characters, and
for phonemes when `p2g_workdir` names a trained configs/asr_p2g.py stage (then they score the
whole pipeline speech -> phonemes -> text).
"""

import functools
import os

import jax.numpy as jnp
import ml_collections
import numpy as np

from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.data import audio_input
from regen_jax.errors import UserError
from regen_jax.evaluate import text as text_metrics
from regen_jax.models import recognizer as recognizer_lib
from regen_jax.tasks import speech
from regen_jax.tasks.speech import SpeechTask
from regen_jax.tasks.stage import CTCStage

TARGET_VOCAB = {"phonemes": phoneme_lib.NUM_SYMBOLS, "characters": phoneme_lib.NUM_CHARACTERS}
_SHOWN = 2  # transcripts printed at each evaluation (all are written to samples/)


def default_config(test: bool, target: str) -> ml_collections.ConfigDict:
  config = speech.base_config(test)
  config.task = "recognizer"
  config.target = target  # "phonemes" (Y') or "characters" (the direct baseline's Y)
  config.max_characters = 192  # longer spoken transcripts are left out (characters target)
  config.num_steps = 20 if test else 600  # ≈ 5 min on 2 CPU cores
  config.batch_size = 4 if test else 16
  config.eval_every = 10 if test else 500
  config.checkpoint_every = 10 if test else 250
  config.optimizer.learning_rate = 2e-3
  config.optimizer.weight_decay = 0.01
  config.model = ml_collections.ConfigDict()
  config.model.width = 32 if test else 144
  config.model.depth = 1 if test else 4
  config.model.num_heads = 2 if test else 4
  config.model.num_subsampling_convs = 1  # 43 outputs/s: room for ~16 characters/s plus blanks
  config.model.num_conv_blocks = 2
  config.model.conv_kernel_size = 5
  config.spec_augment = ml_collections.ConfigDict()
  config.spec_augment.num_freq_masks = 2
  config.spec_augment.max_freq_width = 10  # of 80 mel bins
  config.spec_augment.num_time_masks = 2
  config.spec_augment.max_time_fraction = 0.05
  config.num_decoded = 8 if test else 50  # validation utterances decoded at each training eval
  config.beam_size = 4 if test else 8
  config.p2g_workdir = ""  # phonemes target: a trained configs/asr_p2g.py, to score text too
  return config


def with_labels(arrays: dict[str, np.ndarray], texts: list[str], config):
  """`arrays` plus CTC `labels` and `num_labels`: the phonemes after the leading boundary (it
  stands for silence, not a word break), or the spoken text's characters (rows longer than
  `max_characters` left out)."""
  if config.target == "phonemes":
    labels = np.zeros_like(arrays["phonemes"])
    labels[:, :-1] = arrays["phonemes"][:, 1:]
    return dict(arrays, labels=labels, num_labels=arrays["num_phonemes"] - 1), texts
  ids = [phoneme_lib.encode_characters(t) for t in texts]
  keep = np.array([len(i) <= config.max_characters for i in ids])
  labels = np.zeros((len(ids), config.max_characters), np.int32)
  for row in np.flatnonzero(keep):
    labels[row, :len(ids[row])] = ids[row]
  if not keep.all():
    print(f"{(~keep).sum()} transcripts exceed max_characters and are left out", flush=True)
  arrays = dict(arrays, labels=labels, num_labels=np.array([len(i) for i in ids], np.int32))
  return {k: v[keep] for k, v in arrays.items()}, [t for t, k in zip(texts, keep) if k]


class Task(CTCStage, SpeechTask):
  sample_inputs = ("audio",)
  sample_suffix = ".txt"

  def __init__(self, config, workdir):
    if config.target not in TARGET_VOCAB:
      raise UserError(f"target must be one of {sorted(TARGET_VOCAB)}, got {config.target!r}")
    super().__init__(config, workdir)
    model = config.model
    self.model = recognizer_lib.SpeechRecognizer(
        TARGET_VOCAB[config.target], model.width, model.depth, model.num_heads, config.max_frames,
        model.num_subsampling_convs, model.num_conv_blocks, model.conv_kernel_size,
        jnp.dtype(config.compute_dtype))
    self.speller = None
    if config.p2g_workdir:
      if config.target != "phonemes":
        raise UserError("p2g_workdir spells recognised phonemes: the characters target needs none")
      from regen_jax.train import loop  # the loop imports tasks: import it when needed
      self.speller = loop.restore_stage(config.p2g_workdir,
                                        "the phoneme-to-grapheme stage (configs/asr_p2g.py)")
      if self.speller.task.config.task != "p2g":
        raise UserError(f"{config.p2g_workdir} holds no trained configs/asr_p2g.py stage")

  @functools.cache
  def _split(self, split: str):
    return with_labels(*super()._split(split), self.config)

  @property
  def max_labels(self) -> int:
    return self.config.max_phonemes if self.config.target == "phonemes" else \
        self.config.max_characters

  def example_batch(self, batch_size: int) -> dict[str, np.ndarray]:
    return dict(super().example_batch(batch_size),
                labels=np.zeros((batch_size, self.max_labels), np.int32),
                num_labels=np.ones((batch_size,), np.int32))

  def _standardised_mel(self, model_state, batch):
    return speech.normalize(self.log_mel(batch), model_state["mel_stats"])

  def init(self, rng, batch):
    stats = speech.mel_statistics(self.log_mel(batch), batch["num_frames"])
    mel = self._standardised_mel({"mel_stats": stats}, batch)
    return self.model.init(rng, mel, batch["num_frames"])["params"], {"mel_stats": stats}

  def logits(self, params, model_state, batch, rng=None):
    mel = self._standardised_mel(model_state, batch)
    if rng is not None:
      mel = recognizer_lib.spec_augment(rng, mel, batch["num_frames"], **self.config.spec_augment)
    return self.model.apply({"params": params}, mel, batch["num_frames"])

  # ------------------------------------------------------------ transcripts and scores

  def transcripts(self, hypotheses: list[list[int]]) -> list[str]:
    """Text of decoded label sequences: characters read, or phonemes spelled by the P2G stage
    (empty strings without one)."""
    if self.config.target == "characters":
      return [phoneme_lib.decode_characters(h) for h in hypotheses]
    if self.speller is None:
      return [""] * len(hypotheses)
    return self.speller.task.transcribe(self.speller.params, self.speller.model_state, hypotheses)

  def _scores(self, hypotheses, arrays, texts, prefix: str, step: int) -> dict[str, float]:
    """PER (phonemes), CER and WER (whenever there is text) of one decoding of the rows."""
    scores, written = {}, self.transcripts(hypotheses)
    if self.config.target == "phonemes":
      references = [row[:n] for row, n in zip(arrays["labels"], arrays["num_labels"])]
      scores["per"] = text_metrics.phoneme_error_rate(references, hypotheses)
    spoken = [phoneme_lib.spoken_text(t) for t in texts]
    if self.config.target == "characters" or self.speller is not None:
      scores["cer"] = text_metrics.char_error_rate(spoken, written)
      scores["wer"] = text_metrics.word_error_rate(spoken, written)
    lines = [f"reference: {s}\n" + (f"phonemes:  {phoneme_lib.to_string(h)}\n"
                                    if self.config.target == "phonemes" else "")
             + f"text:      {w}\n" for s, h, w in zip(spoken, hypotheses, written)]
    os.makedirs(self.output_path(""), exist_ok=True)
    with open(self.output_path(f"{prefix}transcripts_{step:07d}.txt"), "w") as f:
      f.write("\n".join(lines))
    print("".join(lines[:_SHOWN]), end="", flush=True)
    return {prefix + k: v for k, v in scores.items()}

  def on_eval(self, params, model_state, step, full=False):
    """Greedy decodes of `num_decoded` validation utterances (all, plus beam search, if full)."""
    count = None if full else self.config.num_decoded
    arrays = {k: v[:count] for k, v in self.eval_arrays.items()}
    texts = self.eval_texts[:count]
    greedy = self.decode(params, model_state, arrays)
    scores = self._scores(greedy, arrays, texts, "", step)
    if full:
      beam = self.decode(params, model_state, arrays, self.config.beam_size)
      scores.update(self._scores(beam, arrays, texts, "beam_", step))
    return scores

  def sample(self, params, model_state, path, audio=None):
    """`--audio FILE.wav`: prints (and writes to `path`) the beam-search transcript."""
    if not audio:
      raise UserError("give a recording to transcribe: --audio speech.wav")
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
    hypothesis = self.decode(params, model_state, batch, self.config.beam_size)
    lines = []
    if self.config.target == "phonemes":
      lines.append(f"phonemes: {phoneme_lib.to_string(hypothesis[0])}")
    if self.config.target == "characters" or self.speller is not None:
      lines.append(f"text: {self.transcripts(hypothesis)[0]}")
    print("\n".join(lines), flush=True)
    with open(path, "w") as f:
      f.write("\n".join(lines) + "\n")
    return [path]
