"""Image stage 1 (Y -> Y' -> Y): VQ tokenizer, 28x28 Fashion-MNIST -> 7x7 codes (256 entries).

  python -m regen_jax train --config configs/image_tokenizer.py --workdir runs/image_tokenizer
  ... --config configs/image_tokenizer.py:test   (tiny: seconds on a CPU)
Model defaults and the tiny variant live beside the model: regen_jax/tasks/tokenizer.py.
"""

from regen_jax.tasks import tokenizer
from regen_jax.train import config as config_lib


def get_config(arg=None):
  return tokenizer.default_config(config_lib.parse_arg(arg).test)
