"""Speech synthesis baseline X -> Y: phonemes -> waveform in one model, no mel bottleneck.

  python -m regen_jax train --config configs/tts_direct.py --workdir runs/tts/direct
  python -m regen_jax sample --config configs/tts_direct.py --workdir runs/tts/direct --text "Hi."
Arguments: test (tiny)."""

from regen_jax.tasks import tts_direct
from regen_jax.train import config as config_lib


def get_config(arg=None):
  return tts_direct.default_config(config_lib.parse_arg(arg).test)
