"""Image generation on the offline Fashion-MNIST build: four regen routes, each beside the same
direct baseline (class -> pixels by rectified flow, configs/image/pixel_flow.py):
  "image"       class -> 7x7x4 KL autoencoder latents -> image (rectified flow, DiT);
  "image_givt"  the same latents by a GIVT-style autoregressive Gaussian-mixture prior;
  "image_vq"    class -> 7x7 VQ codes -> image (MaskGIT);
  "image_fsq"   the same with finite scalar quantization (levels 8,5,5,5) instead of the EMA VQ.
The discrete routes also face their pixel twin at the same budget. An evaluation classifier,
trained once and charged to neither side, scores samples."""

from regen_jax.domains.image.autoencoder import KLAutoencoder
from regen_jax.domains.image.classifier import Classifier
from regen_jax.domains.image.prior import ImageFlowPrior, ImageMixturePrior, ImagePrior
from regen_jax.domains.image.tokenizer import Tokenizer
from regen_jax.stages.registry import Comparison, Domain, StageConfig

_STAGES = (KLAutoencoder, ImageFlowPrior, ImageMixturePrior, Tokenizer, ImagePrior, Classifier)


# The discrete routes' pixel twin: their MaskGIT trunk over 4x4 pixel patches, each patch's
# pixels from an autoregressive head inside it.
_PIXEL_TWIN = (("pixel MaskGIT (patch AR head)", StageConfig("image/direct.py:prior=maskgit")),)


def _against_pixel_flow(stage1: str, regen: str, baselines=()) -> Comparison:
  return Comparison(
      stage1=StageConfig(stage1), regen=StageConfig(regen),
      direct=StageConfig("image/pixel_flow.py"),
      metric=("frechet_distance", "frechet_distance"),
      metric_name="Fréchet distance of class-conditional samples (classifier features)",
      references=(("classifier", StageConfig("image/classifier.py")),), baselines=baselines)


DOMAINS = (
    Domain(name="image", stages=_STAGES,
           comparison=_against_pixel_flow("image/autoencoder.py", "image/flow.py")),
    Domain(name="image_givt", stages=_STAGES,
           comparison=_against_pixel_flow("image/autoencoder.py", "image/givt.py")),
    Domain(name="image_vq", stages=_STAGES,
           comparison=_against_pixel_flow("image/tokenizer.py", "image/prior.py:prior=maskgit",
                                          _PIXEL_TWIN)),
    Domain(name="image_fsq", stages=_STAGES,
           comparison=_against_pixel_flow("image/tokenizer.py:quantizer=fsq",
                                          "image/prior.py:prior=maskgit,quantizer=fsq",
                                          _PIXEL_TWIN)),
)
