"""X -> clip by the masked (MaskGIT) token prior, for two tasks with one model, as MAGVIT trains
one model for several:
  "classes"  X = each item's class, start position and velocity; Y = the 16-frame clip;
  "frames"   X = the clip's first `CONTEXT_FRAMES` frames; Y = the next 12.
Each training row draws its task (half each); the condition encoder (`ClipCondition`) hides what
the other task would see. Over a tokenizer's codes (configs/video/prior.py) this is the regen
X -> Y′ -> Y; over pixel patches (`patches.ClipPatches`, configs/video/direct.py) the direct
X -> Y baseline: same trunk, sampler and condition encoder.

The tokenizer is causal in time, so the context's frames [0, 4) fix the first token slice;
the prior is given them as pixels (the direct baseline is given the same), and the frames it
outputs for them are replaced by the given ones.

Evaluation samples both tasks for the first `eval_samples` rows of the evaluation split and
scores the class task by the clip classifier (item accuracy, Fréchet distance: an FVD stand-in)
and by centroid tracks (trajectory error against the real clip of the same X, beside the error
against another row's clip: what ignoring the motion costs), the frame task by PSNR and SSIM of
the 12 predicted frames (beside repeating the last context frame).
"""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from regen_jax.domains.image.prior import LABEL
from regen_jax.domains.video import camera, data, media, metrics
from regen_jax.domains.video.classifier import ClipScorer
from regen_jax.domains.video.tokenizer import CLIP
from regen_jax.errors import UserError
from regen_jax.priors.tokens import TokenPrior
from regen_jax.stages import pairing

CONTEXT_FRAMES = 4
TASKS = ("classes", "frames")
CLASSES, FRAMES = range(len(TASKS))
_SAMPLES_PER_CLASS = 4  # columns of the sample GIF


class ClipCondition(nn.Module):
  """X -> prefix: `data.MAX_ITEMS` item vectors (class embedding + its motion) then one vector
  per (CONTEXT_FRAMES, patch, patch) patch of the context frames. A row of the classes task sees
  learned "no context" vectors instead of its context, a row of the frames task learned "no
  items" vectors instead of its items."""
  frame_size: int
  patch: int
  width: int

  @property
  def length(self) -> int:
    return data.MAX_ITEMS + (self.frame_size // self.patch) ** 2

  @nn.compact
  def __call__(self, inputs):
    scale = self.frame_size / 8  # positions and speeds to O(1)
    motion = jnp.concatenate([inputs["start"], inputs["velocity"]], -1) / scale
    items = (nn.Embed(data.NUM_CLASSES + 1, self.width, name="class_embed")(inputs["label"])
             + nn.Dense(self.width, name="motion_embed")(motion))
    context = inputs["context"].astype(jnp.float32) / 255
    batch, frames, size, p = len(context), CONTEXT_FRAMES, self.frame_size, self.patch
    patches = context.reshape(batch, frames, size // p, p, size // p, p)
    patches = patches.transpose(0, 2, 4, 1, 3, 5).reshape(batch, (size // p) ** 2, -1)
    context = nn.Dense(self.width, name="context_embed")(patches)
    no_items = self.param("no_items", nn.initializers.normal(0.02), (data.MAX_ITEMS, self.width))
    no_context = self.param("no_context", nn.initializers.normal(0.02), (self.width,))
    frames_task = (inputs["task"] == FRAMES)[:, None, None]
    return jnp.concatenate([jnp.where(frames_task, no_items, items),
                            jnp.where(frames_task, context, no_context)], axis=1)


def conditions(arrays: dict, task: int) -> dict[str, np.ndarray]:
  """The condition arrays of clip rows (a split's arrays) for `task`."""
  rows = len(arrays["label"])
  return {"label": arrays["label"], "start": arrays["start"], "velocity": arrays["velocity"],
          "context": arrays["video"][:, :CONTEXT_FRAMES], "task": np.full(rows, task, np.int32)}


class ClipPrior(TokenPrior):
  runtime_keys = ("sampling", "eval_samples")
  sample_flags = (LABEL, CLIP)
  sample_suffix = ".gif"

  def __init__(self, config, workdir):
    self.clip_shape = data.clip_shape(config.dataset, config.data_dir)
    self._clips = {}  # split -> its clips and their X, read once
    super().__init__(config, workdir)
    if self.spec.grid[0] * CONTEXT_FRAMES % self.clip_shape[0]:
      raise UserError(f"the context ({CONTEXT_FRAMES} frames) is not a whole number of token "
                      f"slices of {self.clip_shape[0] // self.spec.grid[0]} frames")

  @property
  def family(self) -> str:
    return self.config.prior

  def condition_encoder(self):
    patch = self.clip_shape[1] // self.spec.grid[1]
    return ClipCondition(self.clip_shape[1], patch, self.config.model.width)

  def condition_example(self, batch_size):
    return {"label": np.zeros((batch_size, data.MAX_ITEMS), np.int64),
            "start": np.zeros((batch_size, data.MAX_ITEMS, 2), np.float32),
            "velocity": np.zeros((batch_size, data.MAX_ITEMS, 2), np.float32),
            "context": np.zeros((batch_size, CONTEXT_FRAMES, *self.clip_shape[1:]), np.uint8),
            "task": np.zeros((batch_size,), np.int32)}

  def examples(self, split):
    clips = self.real_clips(split)
    # The task column is a placeholder: training draws each row's task at every step.
    return conditions(clips, CLASSES), clips["video"]

  @property
  def _token_dtype(self):
    """The narrowest integer type that holds the tokens and [MASK]: pixel patches stay uint8
    (a quarter of the memory of int32)."""
    return np.uint8 if self.spec.vocab_size < 255 else np.int32

  def batch_arrays(self, encoded):
    return {"tokens": super().batch_arrays(encoded)["tokens"].astype(self._token_dtype)}

  def y_prime_example(self, batch_size):
    return {"tokens": super().y_prime_example(batch_size)["tokens"].astype(self._token_dtype)}

  # ---- training: each row's task drawn at every step
  def loss(self, params, model_state, batch, rng, step):
    task_rng, rng = jax.random.split(rng)
    task = jax.random.bernoulli(task_rng, 0.5, batch["task"].shape).astype(jnp.int32)
    return super().loss(params, model_state, {**batch, "task": task}, rng, step)

  def eval_metrics(self, params, model_state, batch):
    sums = {}
    for index, task in enumerate(TASKS):
      task_sums = super().eval_metrics(params, model_state,
                                       {**batch, "task": jnp.full_like(batch["task"], index)})
      sums.update({f"{task}_{key}": value for key, value in task_sums.items()})
    return sums

  def summarize(self, sums):
    return {f"{task}_nll_per_token": sums[f"{task}_nll"] / sums[f"{task}_tokens"]
            for task in TASKS}

  # ---- sampling
  def sample_clips(self, params, condition, seed: int) -> np.ndarray:
    """Clips (N, T, H, W, 1) in [0, 1]; a frames row keeps its context frames."""
    clips = np.array(self.sample_y(params, condition, jax.random.key(seed)))
    given = condition["task"] == FRAMES
    clips[given, :CONTEXT_FRAMES] = condition["context"][given] / 255
    return clips

  @functools.cached_property
  def scorer(self) -> ClipScorer | None:
    if not self.config.classifier.workdir:
      return None
    return ClipScorer(pairing.restore_linked(self.config.classifier, "classifier"))

  def on_eval(self, params, model_state, step, full=False):
    """Writes a GIF of both tasks; scores them (with the classifier, when one is configured)."""
    real = self.real_clips(self.config.eval_split)
    count = self.config.eval_samples if full else min(self.config.eval_samples, 50)
    real = {key: value[:count] for key, value in real.items()}
    seed = self.config.seed + step
    generated = self.sample_clips(params, conditions(real, CLASSES), seed)
    predicted = self.sample_clips(params, conditions(real, FRAMES), seed + 1)
    shown = min(8, count)
    media.save_gif(self.output_path(f"samples_{step:07d}.gif"),
                   np.concatenate([generated[:shown], real["video"][:shown] / 255,
                                   predicted[:shown]]), rows=3)
    real_float = real["video"] / 255
    future = slice(CONTEXT_FRAMES, None)
    scores = {"trajectory_error": metrics.trajectory_error(generated, real_float),
              "trajectory_error_other_row": metrics.trajectory_error(
                  generated, np.roll(real_float, 1, axis=0)),
              **{f"frames_{k}": v for k, v in metrics.frame_scores(
                  predicted[:, future], real_float[:, future]).items()},
              **{f"frames_repeat_last_{k}": v for k, v in metrics.frame_scores(
                  np.repeat(real_float[:, CONTEXT_FRAMES - 1:CONTEXT_FRAMES],
                            self.clip_shape[0] - CONTEXT_FRAMES, axis=1),
                  real_float[:, future]).items()}}
    if self.scorer:
      if full:
        scores.update(self.scorer.scores(generated, real["label"], real["video"]))
      else:
        scores["item_accuracy"] = self.scorer.item_accuracy(generated, real["label"])
    return scores

  def real_clips(self, split: str) -> dict[str, np.ndarray]:
    """A split's clips and their X, read once."""
    if split not in self._clips:
      self._clips[split] = data.load(self.config.dataset, split, self.config.data_dir)
    return self._clips[split]

  def sample(self, params, model_state, path, label=None, clip=None):
    """`--clip FILE`: the next frames after its first four, as a GIF (and a PNG strip) of the
    given frames and the prediction. Else class-conditional clips, a row per class (or
    `--label`'s only), each item moving as one of the test split's one-item clips."""
    if clip is not None:
      frames, size = self.clip_shape[:2]
      given = camera.read_clip_file(clip, frames, size, min_frames=CONTEXT_FRAMES)
      condition = conditions({"video": given[None, :CONTEXT_FRAMES],
                              "label": np.full((1, data.MAX_ITEMS), data.NO_ITEM),
                              "start": np.zeros((1, data.MAX_ITEMS, 2), np.float32),
                              "velocity": np.zeros((1, data.MAX_ITEMS, 2), np.float32)}, FRAMES)
      return media.save_gif_and_strip(path, self.sample_clips(params, condition, self.config.seed),
                                      rows=1)
    if label is not None and not 0 <= label < data.NUM_CLASSES:
      raise UserError(f"--label {label} is not a class (0 to {data.NUM_CLASSES - 1})")
    classes = np.arange(data.NUM_CLASSES) if label is None else np.array([label])
    condition = self._class_rows(np.repeat(classes, _SAMPLES_PER_CLASS))
    return media.save_gif_and_strip(path, self.sample_clips(params, condition, self.config.seed),
                                    rows=len(classes))

  def _class_rows(self, labels) -> dict[str, np.ndarray]:
    """Condition rows of the classes task, one item each, with the motions of the test split's
    first one-item clips."""
    test = self.real_clips("test")
    single = np.flatnonzero(test["label"][:, 1] == data.NO_ITEM)[:len(labels)]
    if len(single) < len(labels):
      single = np.resize(single, len(labels))
    rows = {key: test[key][single] for key in ("video", "start", "velocity")}
    rows["label"] = np.stack([labels, np.full(len(labels), data.NO_ITEM)], -1)
    return conditions(rows, CLASSES)
