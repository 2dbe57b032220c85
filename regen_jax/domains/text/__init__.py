"""Text generation: definitions of WordNet synsets from their records (lemma, part of speech,
lexicographer file, hypernym), record -> content plan -> definition, beside a direct
record -> definition model of the same family, size and budget."""

from regen_jax.domains.text.definer import Definer
from regen_jax.domains.text.realizer import Realizer
from regen_jax.stages.registry import Comparison, Domain, StageConfig

DOMAINS = (
    Domain(
        name="text",
        stages=(Realizer, Definer),
        comparison=Comparison(
            stage1=StageConfig("text/realizer.py"),
            regen=StageConfig("text/planner.py"),
            direct=StageConfig("text/direct.py"),
            metric=("greedy_bleu", "greedy_bleu"),
            metric_name="BLEU (greedy decoding) of definitions of held-out lemmas",
            lower_is_better=False)),
)
