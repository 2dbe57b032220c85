"""Speech recognition, stage Y' -> Y: phonemes -> text, trained on text alone (phonemes by rule).

  python -m regen_jax train --config configs/asr_p2g.py --workdir runs/asr/p2g
  python -m regen_jax sample --config configs/asr_p2g.py --workdir runs/asr/p2g --text "Hi there."
Arguments: test (tiny)."""

from regen_jax.tasks import p2g
from regen_jax.train import config as config_lib


def get_config(arg=None):
  return p2g.default_config(config_lib.parse_arg(arg).test)
