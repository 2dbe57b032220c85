"""Text, stage X -> Y′: record -> content plan; with the trained realizer as stage 1 it writes
definitions (record -> plan -> definition).

  python -m regen_jax train --config configs/text/planner.py --workdir runs/text/planner \\
    --config.stage1.workdir=runs/text/realizer
  python -m regen_jax sample --config configs/text/planner.py --workdir runs/text/planner \\
    --config.stage1.workdir=runs/text/realizer \\
    --record '{"lemma": "lighthouse", "pos": "noun", "lexfile": "noun.artifact", "hypernym": "tower"}'
Arguments: test (tiny).
"""

from regen_jax.core import config as config_lib

text_model = config_lib.sibling_module(__file__, "../text_model.py")


def get_config(arg=None):
  args = config_lib.parse_arg(arg)
  stage1 = config_lib.sibling_config(__file__, "realizer.py", args.test)
  stage1.workdir = ""
  return text_model.text_config("regen_jax.domains.text.definer:Definer", stage1, args.test)
