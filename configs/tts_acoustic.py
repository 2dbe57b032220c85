"""Speech synthesis, stage X -> Y': phonemes -> mel frames (durations from MAS), configs/tts_*.py.

  python -m regen_jax train --config configs/tts_acoustic.py --workdir runs/tts/acoustic
  python -m regen_jax sample --config configs/tts_acoustic.py --workdir runs/tts/acoustic \
      --config.vocoder_workdir=runs/tts/vocoder --text "Regeneration learning, in two steps."
Arguments: test (tiny). With --config.vocoder_workdir, `evaluate` and `sample` run text ->
phonemes -> mel -> waveform through that vocoder (its mel settings must equal these)."""

from regen_jax.tasks import acoustic
from regen_jax.train import config as config_lib


def get_config(arg=None):
  return acoustic.default_config(config_lib.parse_arg(arg).test)
