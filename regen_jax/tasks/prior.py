"""Stage 2 (X -> Y'): class -> token grid of a stage-1 abstraction, autoregressive or MaskGIT.

With the VQ tokenizer as stage 1 this is the regen prior; with the pixel-patch rule it is the
direct X -> Y baseline — same transformer, same sampler, same budget.
"""

import functools
import math
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from regen_jax import abstractions
from regen_jax.errors import UserError
from regen_jax.evaluate import images as image_io
from regen_jax.evaluate.classifier import ClassifierScorer
from regen_jax.models.transformer import TokenTransformer
from regen_jax.tasks.base import ImageTask
from regen_jax.train import config as config_lib

_ENCODE_CHUNK = 1000
_EVAL_MASK_SEED = 0


def default_config(test: bool, prior: str, stage1: ml_collections.ConfigDict,
                   stage1_workdir: str) -> ml_collections.ConfigDict:
  """A prior of kind `prior` ('ar' | 'maskgit') over the abstraction that `stage1` configures."""
  config = config_lib.base(test)
  config.task = "prior"
  config.prior = prior
  config.stage1 = stage1
  config.stage1_workdir = stage1_workdir  # "" for rule abstractions: nothing to load
  config.classifier_workdir = ""  # "" = no classifier scores
  config.num_steps = 20 if test else 500  # ≈ 4.5 min on 2 CPU cores at width 128, depth 4
  config.eval_every = 10 if test else 500  # one evaluation, at the end: sampling costs CPU time
  config.optimizer.learning_rate = 1e-3
  config.optimizer.weight_decay = 0.01

  config.model = ml_collections.ConfigDict()
  config.model.width = 32 if test else 128
  config.model.depth = 2 if test else 4
  config.model.num_heads = 2 if test else 4
  config.model.mlp_ratio = 4

  config.sampling = ml_collections.ConfigDict()
  config.sampling.temperature = 1.0
  config.sampling.maskgit_steps = 8
  config.sampling.maskgit_choice_temperature = 4.5
  config.sampling.batch_size = 100
  config.sampling.grid_columns = 10  # samples per class in the PNG grid
  config.eval_samples_per_class = 10 if test else 100  # for `evaluate`'s scores
  return config


class Task(ImageTask):
  progress_keys = ()

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    if config.prior not in ("ar", "maskgit"):
      raise UserError(f"prior must be 'ar' or 'maskgit', got {config.prior!r}")
    self.abstraction = abstractions.load(config.stage1, config.stage1_workdir, self.image_shape)
    self.num_positions = math.prod(self.abstraction.grid)
    model = config.model
    self.model = TokenTransformer(
        vocab_size=self.abstraction.vocab_size,
        tokens_per_position=self.abstraction.tokens_per_position,
        num_positions=self.num_positions, num_classes=self.num_classes, width=model.width,
        depth=model.depth, num_heads=model.num_heads, causal=config.prior == "ar",
        mlp_ratio=model.mlp_ratio, dtype=jnp.dtype(config.compute_dtype))
    classifier = config.classifier_workdir
    if classifier and not os.path.exists(os.path.join(classifier, "config.json")):
      raise UserError(f"no trained classifier in {classifier!r}: train configs/image_classifier.py"
                      f" there first, or pass --config.classifier_workdir=''")

  @functools.cached_property
  def scorer(self) -> ClassifierScorer | None:
    """Loaded on first use: sampling alone does not need it."""
    workdir = self.config.classifier_workdir
    return ClassifierScorer(workdir) if workdir else None

  # ---- data: images -> tokens, through a cache for learned abstractions ----
  def _tokens(self, split: str) -> dict[str, np.ndarray]:
    if not self.config.stage1_workdir:  # a rule: encoding is cheap, nothing to cache
      return self._encode_split(split)
    slug = f"{self.config.dataset}-{split}".replace("/", "_")
    path = os.path.join(self.config.stage1_workdir, "code_cache", self.abstraction.fingerprint,
                        slug + ".npz")
    if not os.path.exists(path):
      encoded = self._encode_split(split)
      os.makedirs(os.path.dirname(path), exist_ok=True)
      tmp = f"{path}.{os.getpid()}.tmp.npz"  # atomic: concurrent hosts never read a partial file
      np.savez(tmp, **encoded)
      os.replace(tmp, path)
      print(f"cached {len(encoded['tokens'])} token grids of {split!r} in {path}", flush=True)
    with np.load(path) as cached:
      return {"tokens": cached["tokens"], "label": cached["label"]}

  def _encode_split(self, split: str) -> dict[str, np.ndarray]:
    arrays = self._image_split(split)
    images = arrays["image"]
    chunks = [np.asarray(self.abstraction.encode(images[i:i + _ENCODE_CHUNK]))
              for i in range(0, len(images), _ENCODE_CHUNK)]
    tokens = np.concatenate(chunks).reshape(len(images), self.num_positions, -1)
    return {"tokens": tokens.astype(np.int32), "label": arrays["label"]}

  @functools.cached_property
  def train_arrays(self):
    return self._tokens(self.config.train_split)

  @functools.cached_property
  def eval_arrays(self):
    return self._tokens(self.config.eval_split)

  def example_batch(self, batch_size):
    shape = (batch_size, self.num_positions, self.abstraction.tokens_per_position)
    return {"tokens": np.zeros(shape, np.int32), "label": np.zeros((batch_size,), np.int64)}

  # ---- the stage-1 pairing a checkpoint must keep ----
  def meta(self):
    return {**super().meta(), "stage1_fingerprint": self.abstraction.fingerprint}

  def check_meta(self, meta, workdir):
    if meta.get("stage1_fingerprint") != self.abstraction.fingerprint:
      raise UserError(f"the prior in {workdir} was trained on the codes of stage 1 "
                      f"{meta.get('stage1_fingerprint')!r}, but the configured stage 1 is "
                      f"{self.abstraction.fingerprint!r}: retrain the prior or point "
                      f"--config.stage1_workdir at the tokenizer it was trained with")

  # ---- training ----
  def init(self, rng, batch):
    return self.model.init(rng, batch["tokens"], batch["label"])["params"], {}

  def _token_nll(self, params, batch, rng):
    """(per-position NLL (B, N) summed over a position's tokens, weights (B, N) of scored positions)."""
    tokens, labels = batch["tokens"], batch["label"]
    if self.config.prior == "ar":
      logits = self.model.apply({"params": params}, tokens[:, :-1], labels)
      weights = jnp.ones(tokens.shape[:2])
    else:
      masked = _random_mask(rng, tokens.shape[0], self.num_positions)
      inputs = jnp.where(masked[..., None], self.abstraction.vocab_size, tokens)
      logits = self.model.apply({"params": params}, inputs, labels)[:, 1:]
      weights = masked.astype(jnp.float32)
    nll = optax.softmax_cross_entropy_with_integer_labels(logits, tokens).sum(-1)
    return nll, weights

  def loss(self, params, model_state, batch, rng, step):
    del step
    nll, weights = self._token_nll(params, batch, rng)
    loss = jnp.sum(nll * weights) / jnp.maximum(weights.sum(), 1) / self.abstraction.tokens_per_position
    return loss, ({}, model_state)

  def eval_metrics(self, params, model_state, batch):
    del model_state
    nll, weights = self._token_nll(params, batch, jax.random.key(_EVAL_MASK_SEED))
    weights = weights * batch["mask"][:, None]
    return {"nll": jnp.sum(nll * weights), "tokens": weights.sum() * self.abstraction.tokens_per_position}

  def summarize(self, sums):
    return {"nll_per_token": sums["nll"] / sums["tokens"]}

  # ---- sampling ----
  def sample_tokens(self, params, labels, rng):
    if self.config.prior == "ar":
      return self._sample_ar(params, labels, rng)
    return self._sample_maskgit(params, labels, rng)

  def _sample_ar(self, params, labels, rng):
    """One position per step against a KV cache."""
    decoder = self.model.clone(decode=True)
    first = jnp.zeros((labels.shape[0], 1, self.abstraction.tokens_per_position), jnp.int32)
    shapes = jax.eval_shape(lambda: decoder.init(rng, first, labels))["cache"]
    cache = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)

    def step(carry, _):
      cache, previous, rng = carry
      rng, sample_rng = jax.random.split(rng)
      logits, updated = decoder.apply({"params": params, "cache": cache}, previous, labels,
                                      mutable=["cache"])
      token = jax.random.categorical(sample_rng, logits[:, -1] / self.config.sampling.temperature)
      return (updated["cache"], token[:, None], rng), token

    _, tokens = jax.lax.scan(step, (cache, first, rng), None, length=self.num_positions)
    return tokens.transpose(1, 0, 2)

  def _sample_maskgit(self, params, labels, rng):
    """Parallel decoding: each step fixes the most confident positions (cosine schedule)."""
    cfg, n, mask_id = self.config.sampling, self.num_positions, self.abstraction.vocab_size
    tokens = jnp.full((labels.shape[0], n, self.abstraction.tokens_per_position), mask_id, jnp.int32)
    unknown = jnp.ones((labels.shape[0], n), bool)
    for t in range(cfg.maskgit_steps):
      rng, sample_rng, noise_rng = jax.random.split(rng, 3)
      logits = self.model.apply({"params": params}, tokens, labels)[:, 1:]
      sampled = jax.random.categorical(sample_rng, logits / cfg.temperature)
      log_probs = jnp.take_along_axis(jax.nn.log_softmax(logits), sampled[..., None], -1)
      confidence = jnp.where(unknown, log_probs[..., 0].sum(-1), jnp.inf)
      sampled = jnp.where(unknown[..., None], sampled, tokens)
      progress = (t + 1) / cfg.maskgit_steps
      annealed = cfg.maskgit_choice_temperature * (1 - progress)
      confidence = confidence + annealed * jax.random.gumbel(noise_rng, confidence.shape)
      still_masked = jnp.minimum(math.floor(n * math.cos(math.pi / 2 * progress)),
                                 unknown.sum(-1, keepdims=True) - 1).clip(0)
      unknown = _ranks(confidence) < still_masked
      tokens = jnp.where(unknown[..., None], mask_id, sampled)
    return tokens

  def _decoded_samples(self, params, labels, rng, decode):
    """Images of sampled token grids, through `decode(token grid) -> images`."""
    tokens = self.sample_tokens(params, labels, rng)
    return decode(tokens.reshape(labels.shape[0], *self.abstraction.grid, -1))

  @functools.cached_property
  def _sample_images(self):
    return jax.jit(functools.partial(self._decoded_samples, decode=self.abstraction.decode))

  def sample_images(self, params, labels, rng) -> np.ndarray:
    """Images (N, H, W, C) in [0, 1] for class `labels`, in chunks of `config.sampling.batch_size`."""
    size = self.config.sampling.batch_size
    chunks = []
    for i in range(0, len(labels), size):
      chunk = np.asarray(labels[i:i + size])
      padded = np.pad(chunk, (0, size - len(chunk)))  # one compiled shape
      chunks.append(np.asarray(self._sample_images(params, padded, jax.random.fold_in(rng, i)))[:len(chunk)])
    return np.concatenate(chunks)

  def _export_decoder(self):
    """(decode(decoder_params, token grid) -> images, decoder_params): stage 1's decoder with
    its weights as arguments, so an export holds them as params rather than constants."""
    if not self.config.stage1_workdir:  # a rule: nothing trained
      return lambda _, grid: self.abstraction.decode(grid), {}
    from regen_jax.train import loop  # the loop imports tasks: import it when needed
    stage1 = loop.restore_stage(self.config.stage1_workdir, "the tokenizer (stage 1)")
    return stage1.task.export_decoder(stage1.params, stage1.model_state)

  def export_sampler(self, params, model_state):
    """`_sample_images` for `regen_jax.export`: one batch of `sampling.batch_size` labels and the
    raw data of a threefry key in, images out; the prior's and stage 1's weights are params."""
    del model_state
    decode, decoder_params = self._export_decoder()

    def sample(tree, labels, rng_key):
      rng = jax.random.wrap_key_data(rng_key, impl="threefry2x32")
      images = self._decoded_samples(tree["prior"], labels, rng,
                                     functools.partial(decode, tree["stage1"]))
      return {"images": images}

    inputs = {"labels": np.zeros((self.config.sampling.batch_size,), np.int32),
              "rng_key": np.asarray(jax.random.key_data(jax.random.key(0, impl="threefry2x32")))}
    return sample, {"prior": params, "stage1": decoder_params}, inputs, self._export_description()

  def _export_description(self) -> dict:
    abstraction = self.abstraction
    return {
        "name": "image", "dataset": self.config.dataset, "num_classes": self.num_classes,
        "image_shape": list(self.image_shape), "prior": self.config.prior,
        "sampling": self.config.sampling.to_dict(),
        "abstraction": {"kind": self.config.stage1.abstraction,
                        "fingerprint": abstraction.fingerprint, "grid": list(abstraction.grid),
                        "vocab_size": abstraction.vocab_size,
                        "tokens_per_position": abstraction.tokens_per_position,
                        "config": self.config.stage1.to_dict()},
        "inputs": {"labels": f"class ids in [0, {self.num_classes}), one image each",
                   "rng_key": "jax.random.key_data(jax.random.key(seed)) of the threefry2x32 "
                              "generator, i.e. numpy.array([0, seed], numpy.uint32)"},
        "outputs": {"images": "images (batch, height, width, channels) in [0, 1]"}}

  def _class_samples(self, params, per_class: int, seed: int):
    labels = np.repeat(np.arange(self.num_classes), per_class)
    return self.sample_images(params, labels, jax.random.key(seed)), labels

  def write_samples(self, params, model_state, path, seed=None):
    """A PNG grid with a row per class; returns the images and their labels."""
    del model_state
    seed = self.config.seed if seed is None else seed
    images, labels = self._class_samples(params, self.config.sampling.grid_columns, seed)
    image_io.save_grid(path, images, rows=self.num_classes)
    return images, labels

  def on_eval(self, params, model_state, step, full=False):
    """Writes a sample grid; scores samples with the classifier if one is configured."""
    seed = self.config.seed + step
    images, labels = self.write_samples(params, model_state, self.sample_path("samples", step), seed)
    if not self.scorer:
      return {}
    if not full:
      return {"sample_accuracy": self.scorer.accuracy(images, labels)}
    images, labels = self._class_samples(params, self.config.eval_samples_per_class, seed + 1)
    return self.scorer.scores(images, labels, self._image_split(self.config.eval_split)["image"])


def _ranks(values):
  """Rank of each entry along the last axis (0 = smallest)."""
  return jnp.argsort(jnp.argsort(values, axis=-1), axis=-1)


def _random_mask(rng, batch: int, length: int):
  """MaskGIT training mask: a cosine-distributed fraction of positions, at least one, per row."""
  ratio_rng, order_rng = jax.random.split(rng)
  ratio = jnp.cos(jnp.pi / 2 * jax.random.uniform(ratio_rng, (batch, 1)))
  count = jnp.clip(jnp.ceil(ratio * length), 1, length)
  return _ranks(jax.random.uniform(order_rng, (batch, length))) < count
