"""Text, the direct baseline X -> Y: record -> definition, the same family, size and budget as
the regen pipeline's stages.

  python -m regen_jax train --config configs/text/direct.py --workdir runs/text/direct
  python -m regen_jax sample --config configs/text/direct.py --workdir runs/text/direct \\
    --record '{"lemma": "lighthouse", "pos": "noun", "lexfile": "noun.artifact", "hypernym": "tower"}'
Arguments: test (tiny).
"""

from regen_jax.core import config as config_lib

text_model = config_lib.sibling_module(__file__, "../text_model.py")


def get_config(arg=None):
  args = config_lib.parse_arg(arg)
  config = text_model.text_config("regen_jax.domains.text.definer:Definer", None, args.test)
  if not args.test:
    config.num_steps = 930  # the realizer's and planner's FLOPs together (experiments/text_demo_summary.py)
  return config
