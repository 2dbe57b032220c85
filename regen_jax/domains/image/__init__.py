"""Image generation: class -> 7x7 VQ codes -> 28x28 image (regen), beside class -> pixel patches
(direct), on the offline Fashion-MNIST build; an evaluation classifier scores samples."""

from regen_jax.domains.image.classifier import Classifier
from regen_jax.domains.image.prior import ImagePrior
from regen_jax.domains.image.tokenizer import Tokenizer
from regen_jax.stages.registry import Comparison, Domain, StageConfig

DOMAINS = (Domain(
    name="image",
    stages=(Tokenizer, ImagePrior, Classifier),
    comparison=Comparison(
        stage1=StageConfig("image/tokenizer.py"),
        regen=StageConfig("image/prior.py:prior=maskgit"),
        direct=StageConfig("image/direct.py:prior=maskgit"),
        metric=("frechet_distance", "frechet_distance"),
        metric_name="Fréchet distance of class-conditional samples (classifier features)",
        references=(("classifier", StageConfig("image/classifier.py")),))),)
