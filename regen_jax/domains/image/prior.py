"""Class -> image, by a prior family over a kind of Y′:
  `ImagePrior`     token priors (AR or MaskGIT) over a VQ/FSQ tokenizer's codes
                   (configs/image/prior.py, regen) or quantized pixel patches (direct.py);
  `ImageFlowPrior` rectified flow over a KL autoencoder's latents (configs/image/flow.py, regen)
                   or over pixel values (pixel_flow.py, the direct baseline);
  `ImageMixturePrior` GIVT-style Gaussian-mixture autoregression over the same latents
                   (configs/image/givt.py, regen).

Evaluation draws class-conditional samples and, with a trained evaluation classifier
(`config.classifier.workdir`), scores their class accuracy and Fréchet distance to the
evaluation split's real images.
"""

import functools

import jax
import numpy as np

from regen_jax.core import workdir as workdir_lib
from regen_jax.domains.image import data
from regen_jax.domains.image.classifier import ClassifierScorer
from regen_jax.evaluate import images as image_io
from regen_jax.errors import UserError
from regen_jax.priors.conditions import ClassLabel
from regen_jax.priors.flow import FlowPrior
from regen_jax.priors.mixture import MixturePrior
from regen_jax.priors.tokens import TokenPrior
from regen_jax.stages import pairing
from regen_jax.stages.base import Exportable, SampleFlag
from regen_jax.stages.specs import describe

LABEL = SampleFlag("label", int, "class id: sample only this class (default: a row per class)")


class ClassConditionalImages:
  """What the image priors share (mixed in before a prior family): class ids as X, the
  classifier's scores, sample grids, and the exported sampler."""
  runtime_keys = ("sampling", "eval_samples_per_class")
  sample_flags = (LABEL,)

  def __init__(self, config, workdir):
    # A stage 1 that streams its images (config.stage1.input) crops them: so do the scores.
    self.crop_size = config.stage1.input.image_size if config.stage1.get("input") else 0
    self.image_shape, self.num_classes = data.shape_and_classes(config.dataset, config.data_dir,
                                                                self.crop_size)
    super().__init__(config, workdir)
    if config.classifier.workdir:  # checked now, loaded when a score is needed
      saved = workdir_lib.require_saved_config(config.classifier.workdir,
                                               "the evaluation classifier")
      workdir_lib.check_same_stage(saved, config.classifier.stage, config.classifier.workdir)

  def condition_encoder(self):
    return ClassLabel(self.num_classes, self.config.model.width)

  def condition_example(self, batch_size):
    return {"label": np.zeros((batch_size,), np.int64)}

  def examples(self, split):
    if self.crop_size:  # Y read and cropped as it is encoded, chunk by chunk
      return ({"label": data.labels(self.config.dataset, split, self.config.data_dir)},
              data.CroppedImages(self.config.dataset, split, self.config.data_dir,
                                 self.crop_size))
    arrays = data.load(self.config.dataset, split, self.config.data_dir)
    return {"label": arrays["label"]}, arrays["image"]

  def real_images(self, split: str) -> np.ndarray:
    """The real images of `split` that samples are scored against (of a streamed dataset, the
    first `num_eval_examples`, 0: all, centre-cropped)."""
    if self.crop_size:
      return data.load_cropped(self.config.dataset, split, self.config.data_dir,
                               self.crop_size, self.config.num_eval_examples)["image"]
    return data.load(self.config.dataset, split, self.config.data_dir)["image"]

  @functools.cached_property
  def scorer(self) -> ClassifierScorer | None:
    """Loaded on first use: sampling alone does not need it."""
    if not self.config.classifier.workdir:
      return None
    return ClassifierScorer(pairing.restore_linked(self.config.classifier, "classifier"))

  def class_samples(self, params, per_class: int, seed: int):
    labels = np.repeat(np.arange(self.num_classes), per_class)
    return self.sample_y(params, {"label": labels}, jax.random.key(seed)), labels

  def write_samples(self, params, path, seed, label=None):
    """A PNG grid with a row per class (or `label`'s samples only); returns the images and
    their labels."""
    columns = self.config.sampling.grid_columns
    if label is None:
      images, labels = self.class_samples(params, columns, seed)
    else:
      labels = np.full(columns * columns, label)
      images = self.sample_y(params, {"label": labels}, jax.random.key(seed))
    image_io.save_grid(path, images, rows=len(labels) // columns)
    return images, labels

  def on_eval(self, params, model_state, step, full=False):
    """Writes a sample grid; scores samples with the classifier if one is configured."""
    seed = self.config.seed + step
    images, labels = self.write_samples(params, self.output_path(f"samples_{step:07d}.png"), seed)
    if not self.scorer:
      return {}
    if not full:
      return {"sample_accuracy": self.scorer.accuracy(images, labels)}
    images, labels = self.class_samples(params, self.config.eval_samples_per_class, seed + 1)
    real = self.real_images(self.config.eval_split)
    return self.scorer.scores(images, labels, real)

  def sample(self, params, model_state, path, label=None):
    """A PNG grid of samples, one row per class, or a square grid of class `label`."""
    if label is not None and not 0 <= label < self.num_classes:
      raise UserError(f"--label {label} is not a class of {self.config.dataset} "
                      f"(0 to {self.num_classes - 1})")
    self.write_samples(params, path, self.config.seed, label)
    return [path]

  def exportable(self, params, model_state):
    """Class ids and the raw data of a threefry key in, images out; the prior's and stage 1's
    weights are params, not constants."""
    sample, tree = self.export_fn(params)
    fn = lambda tree, labels, rng_key: {"images": sample(tree, {"label": labels}, rng_key)}
    inputs = {"labels": np.zeros((self.config.sampling.batch_size,), np.int32),
              "rng_key": np.asarray(jax.random.key_data(jax.random.key(0, impl="threefry2x32")))}
    description = {
        "name": "image", "dataset": self.config.dataset, "num_classes": self.num_classes,
        "image_shape": list(self.image_shape), "prior": self.family,
        "sampling": self.config.sampling.to_dict(),
        "abstraction": {"stage": self.config.stage1.stage,
                        "fingerprint": self.stage1.fingerprint, **describe(self.spec)},
        "inputs": {"labels": f"class ids in [0, {self.num_classes}), one image each",
                   "rng_key": "jax.random.key_data(jax.random.key(seed)) of the threefry2x32 "
                              "generator, i.e. numpy.array([0, seed], numpy.uint32)"},
        "ranges": {"labels": [0, self.num_classes]},
        "outputs": {"images": "images (batch, height, width, channels) in [0, 1]"}}
    return Exportable(fn, tree, inputs, description)


class ImagePrior(ClassConditionalImages, TokenPrior):

  @property
  def family(self) -> str:
    return self.config.prior


class ImageFlowPrior(ClassConditionalImages, FlowPrior):
  family = "flow"


class ImageMixturePrior(ClassConditionalImages, MixturePrior):
  family = "givt"
