"""Music, the direct baseline X -> Y: melody -> alto, tenor and bass, the same family, size and
budget as the regen pipeline's stages.

  python -m regen_jax train --config configs/music/direct.py --workdir runs/music/direct
Arguments: prior=ar|maskgit, test (tiny).
"""

from regen_jax.core import config as config_lib

music_model = config_lib.sibling_module(__file__, "../music_model.py")


def get_config(arg=None):
  args = config_lib.parse_arg(arg, prior="ar")
  config = music_model.music_config("regen_jax.domains.music.harmony:Harmonizer", None,
                                    args.prior, args.test)
  if not args.test:
    # The voicing stage's and planner's FLOPs together: 800 x (25.15 + 13.98) GFLOPs over
    # 25.15 a step (XLA cost analysis; experiments/music_demo_summary.py measures them).
    config.num_steps = 1245
  return config
