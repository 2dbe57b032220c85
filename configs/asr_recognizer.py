"""Speech recognition, stage X -> Y': speech -> phonemes (CTC), configs/asr_*.py.

  python -m regen_jax train --config configs/asr_recognizer.py --workdir runs/asr/recognizer
  python -m regen_jax evaluate --config configs/asr_recognizer.py --workdir runs/asr/recognizer \
      --config.p2g_workdir=runs/asr/p2g --config.eval_split=test
  python -m regen_jax sample --config configs/asr_recognizer.py --workdir runs/asr/recognizer \
      --config.p2g_workdir=runs/asr/p2g --audio speech.wav
Arguments: test (tiny). With --config.p2g_workdir (a trained configs/asr_p2g.py), evaluation
reports CER/WER of the whole pipeline speech -> phonemes -> text, and `sample` prints text."""

from regen_jax.tasks import recognizer
from regen_jax.train import config as config_lib


def get_config(arg=None):
  return recognizer.default_config(config_lib.parse_arg(arg).test, target="phonemes")
