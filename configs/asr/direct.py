"""Speech recognition baseline X -> Y: speech -> characters with the recognizer's encoder and
budget, no phoneme abstraction (stage 1 is the spoken-characters rule: Y itself).

  python -m regen_jax train --config configs/asr/direct.py --workdir runs/asr/direct
  python -m regen_jax sample --config configs/asr/direct.py --workdir runs/asr/direct --audio a.wav
Arguments: test (tiny).
"""

import ml_collections

from regen_jax.core import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg)
  p2g = config_lib.sibling_module(__file__, "p2g.py")
  characters = ml_collections.ConfigDict({"stage": p2g.SPOKEN_CHARACTERS, "workdir": ""})
  recognizer = config_lib.sibling_module(__file__, "recognizer.py")
  config = recognizer.recognizer_config(args, characters, max_labels=192)
  config.score_pocketsphinx = False  # the regen recognizer's evaluation scores it
  return config
