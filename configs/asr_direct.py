"""Speech recognition baseline X -> Y: speech -> characters with the recognizer's encoder and
budget, no phoneme abstraction.

  python -m regen_jax train --config configs/asr_direct.py --workdir runs/asr/direct
  python -m regen_jax sample --config configs/asr_direct.py --workdir runs/asr/direct --audio a.wav
Arguments: test (tiny)."""

from regen_jax.tasks import recognizer
from regen_jax.train import config as config_lib


def get_config(arg=None):
  return recognizer.default_config(config_lib.parse_arg(arg).test, target="characters")
