"""Music, stage X -> Y′: melody -> chord template; with the trained voicing stage as stage 1 it
harmonises (melody -> template -> alto, tenor, bass).

  python -m regen_jax train --config configs/music/planner.py --workdir runs/music/planner \\
    --config.stage1.workdir=runs/music/voicing
Arguments: prior=ar|maskgit, test (tiny).
"""

from regen_jax.core import config as config_lib

music_model = config_lib.sibling_module(__file__, "../music_model.py")


def get_config(arg=None):
  args = config_lib.parse_arg(arg, prior="ar")
  stage1 = config_lib.sibling_module(__file__, "voicing.py").get_config(
      f"prior={args.prior}" + (",test" if args.test else ""))
  stage1.workdir = ""
  return music_model.music_config("regen_jax.domains.music.harmony:Harmonizer", stage1,
                                  args.prior, args.test)
