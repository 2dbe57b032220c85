"""Text, stage Y′ -> Y: content plan -> definition, trained on WordNet's training definitions
alone (each plan by rule).

  python -m regen_jax train --config configs/text/realizer.py --workdir runs/text/realizer
  python -m regen_jax sample --config configs/text/realizer.py --workdir runs/text/realizer \\
    --plan "tower light warning ships"
Arguments: test (tiny).
"""

from regen_jax.core import config as config_lib

text_model = config_lib.sibling_module(__file__, "../text_model.py")


def get_config(arg=None):
  args = config_lib.parse_arg(arg)
  return text_model.text_config("regen_jax.domains.text.realizer:Realizer", None, args.test)
