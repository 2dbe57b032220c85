"""CTC: X -> a label sequence of stage 1's symbols (`SymbolSpec`), read by CTC (Graves et al.).

A condition encoder turns X into frames (speech -> subsampled mel frames; phonemes -> upsampled
embeddings), a transformer stack with a CTC head (`CTCHead`, id 0 = blank, which doubles as
the symbol table's padding) gives per-frame log-probabilities. Rows whose labels cannot fit their
frames are left out of the loss and counted (`ctc_algorithms.fitting_sums`). Decoding: greedy,
or prefix beam search rescored with exact probabilities (never less probable than greedy).

A domain subclasses `CTCPrior`, giving the condition encoder, the inputs it reads from a batch
(where preprocessing with model state or a training key, e.g. SpecAugment, happens), and the
batch's `labels` / `num_labels` (stage 1's encoding of Y).
"""

import abc
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from regen_jax.data import pipeline
from regen_jax.errors import UserError
from regen_jax.nn.transformer import SequenceStack
from regen_jax.priors import ctc_algorithms
from regen_jax.stages import pairing
from regen_jax.stages.base import Stage
from regen_jax.stages.specs import SymbolSpec, describe


class CTCHead(nn.Module):
  """(B, T, width) inputs with `lengths` -> (B, T, vocab_size) float32 logits."""
  vocab_size: int
  depth: int
  num_heads: int
  max_length: int
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, x, lengths):
    x = SequenceStack(self.depth, self.num_heads, self.max_length, self.dtype)(x, lengths)
    return nn.Dense(self.vocab_size, dtype=jnp.float32, name="logits")(x)


class CTCModel(nn.Module):
  """X inputs -> (logits (B, T, vocab_size), output lengths (B,)). `encoder` maps the inputs to
  (frames (B, T, width), lengths), has `max_length` = T, and shares this module's scope."""
  encoder: nn.Module
  vocab_size: int
  depth: int
  num_heads: int
  dtype: jnp.dtype = jnp.float32

  def setup(self):
    nn.share_scope(self, self.encoder)

  @nn.compact
  def __call__(self, inputs):
    x, lengths = self.encoder(inputs)
    head = CTCHead(self.vocab_size, self.depth, self.num_heads, self.encoder.max_length,
                   self.dtype)
    return head(x, lengths), lengths


class CTCPrior(Stage):
  progress_keys = ("ctc_per_label",)
  runtime_keys = ("beam_label_floor",)  # a decoding setting: no trained parameter changes

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    self.stage1 = pairing.load_stage1(config)
    self.spec = self.stage1.spec
    if not isinstance(self.spec, SymbolSpec):
      raise UserError(f"a CTC prior needs a stage 1 that makes symbol sequences; config.stage1 "
                      f"makes {self.spec.name}")
    encoder = self.condition_encoder()
    if not isinstance(getattr(encoder, "max_length", None), int):
      raise UserError(f"{type(self).__name__}.condition_encoder() must have an int `max_length`")
    self.model = CTCModel(encoder, self.spec.vocab_size, config.model.depth,
                          config.model.num_heads, jnp.dtype(config.compute_dtype))
    self._log_probs = jax.jit(self.log_probs)

  # ---- what the domain supplies
  @abc.abstractmethod
  def condition_encoder(self) -> nn.Module:
    """X -> (frames (B, T, width), lengths (B,)), with `max_length` = T."""

  @abc.abstractmethod
  def encoder_inputs(self, model_state, batch, rng=None) -> dict:
    """What the condition encoder reads of a batch; `rng` is given in training only."""

  def init_model_state(self, batch) -> dict:
    """Model state from the first training batch (e.g. feature statistics)."""
    del batch
    return {}

  def trained_against(self):
    return {"stage1": {"fingerprint": self.stage1.fingerprint, "spec": describe(self.spec)}}

  # ---- training
  def init(self, rng, batch):
    model_state = self.init_model_state(batch)
    inputs = self.encoder_inputs(model_state, batch)
    return self.model.init(rng, inputs)["params"], model_state

  def logits(self, params, model_state, batch, rng=None):
    return self.model.apply({"params": params}, self.encoder_inputs(model_state, batch, rng))

  def loss(self, params, model_state, batch, rng, step):
    del step
    logits, lengths = self.logits(params, model_state, batch, rng)
    sums = ctc_algorithms.fitting_sums(logits, lengths, batch["labels"], batch["num_labels"])
    loss = sums["ctc_sum"] / jnp.maximum(sums["labels"], 1)
    return loss, ({"ctc_per_label": loss, "rows_left_out": sums["rows_left_out"]}, model_state)

  def eval_metrics(self, params, model_state, batch):
    logits, lengths = self.logits(params, model_state, batch)
    return ctc_algorithms.fitting_sums(logits, lengths, batch["labels"], batch["num_labels"],
                                       batch["mask"])

  def summarize(self, sums):
    return {"ctc_per_label": sums["ctc_sum"] / max(sums["labels"], 1),
            "rows_left_out": sums["rows_left_out"]}

  # ---- decoding
  def log_probs(self, params, model_state, batch):
    logits, lengths = self.logits(params, model_state, batch)
    return jax.nn.log_softmax(logits), lengths

  def decode(self, params, model_state, arrays, beam_size: int | None = None,
             scorer: ctc_algorithms.LabelScorer | None = None) -> list[list[int]]:
    """Label sequences of every row of `arrays`: greedy, or prefix beam search of `beam_size`
    (fused with `scorer`, e.g. a word language model, when given) that tries only the labels of
    log-probability at least `config.beam_label_floor` on a frame (and its likeliest)."""
    log_probs, lengths = pipeline.map_batches(
        lambda batch: self._log_probs(params, model_state, batch), arrays,
        self.config.eval_batch_size)
    # A workdir saved before the floor existed decodes as it was evaluated then: without one.
    floor = self.config.get("beam_label_floor", -math.inf)
    return ctc_algorithms.batch_decode(log_probs, lengths, beam_size, scorer, floor)
