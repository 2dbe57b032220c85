"""Music, stage Y′ -> Y: chord template + melody -> alto, tenor and bass, trained on the
chorales alone (each window's template by rule).

  python -m regen_jax train --config configs/music/voicing.py --workdir runs/music/voicing
Arguments: prior=ar|maskgit, test (tiny).
"""

from regen_jax.core import config as config_lib

music_model = config_lib.sibling_module(__file__, "../music_model.py")


def get_config(arg=None):
  args = config_lib.parse_arg(arg, prior="ar")
  return music_model.music_config("regen_jax.domains.music.harmony:Voicing", None, args.prior,
                                  args.test)
