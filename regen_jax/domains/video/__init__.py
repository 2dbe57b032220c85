"""Video generation on moving Fashion-MNIST clips (16 frames): one MaskGIT model for two tasks,
class (+ motion) -> clip and first 4 frames -> next 12, over the token grid of a causal
(2+1)D tokenizer with FSQ (regen: X -> Y′ -> Y), beside the same prior over pixel patches
(direct: X -> Y). A clip classifier, trained once and charged to neither side, scores samples."""

from regen_jax.domains.video.classifier import Classifier
from regen_jax.domains.video.prior import ClipPrior
from regen_jax.domains.video.tokenizer import VideoTokenizer
from regen_jax.stages.registry import Comparison, Domain, StageConfig

DOMAINS = (
    Domain(
        name="video",
        stages=(VideoTokenizer, ClipPrior, Classifier),
        comparison=Comparison(
            stage1=StageConfig("video/tokenizer.py"),
            regen=StageConfig("video/prior.py"),
            direct=StageConfig("video/direct.py"),
            metric=("item_accuracy", "item_accuracy"),
            metric_name="item accuracy of class-conditional clips (clip classifier)",
            lower_is_better=False,
            references=(("classifier", StageConfig("video/classifier.py")),))),
)
