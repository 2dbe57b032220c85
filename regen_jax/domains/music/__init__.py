"""Music composition: four-part harmony of Bach chorale melodies, soprano -> chord template ->
alto, tenor and bass, beside a direct soprano -> alto, tenor and bass model of the same family,
size and budget."""

from regen_jax.domains.music.harmony import Harmonizer, Voicing
from regen_jax.stages.registry import Comparison, Domain, StageConfig

DOMAINS = (
    Domain(
        name="music",
        stages=(Voicing, Harmonizer),
        comparison=Comparison(
            stage1=StageConfig("music/voicing.py"),
            regen=StageConfig("music/planner.py"),
            direct=StageConfig("music/direct.py"),
            metric=("generated_chord_tone_ratio", "generated_chord_tone_ratio"),
            metric_name="chord-tone ratio of the harmonised lower voices, test tunes",
            lower_is_better=False)),
)
