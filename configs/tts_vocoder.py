"""Speech synthesis, stage Y' -> Y (trained on audio alone): GAN vocoder, mel -> waveform.

  python -m regen_jax train --config configs/tts_vocoder.py --workdir runs/tts/vocoder
Arguments: test (tiny). --config.acoustic_workdir=DIR fine-tunes on the predicted mels of a
trained acoustic model (teacher-forced durations) instead of the recordings' mels;
--config.gan.generator=hifigan swaps the default Vocos-style generator for a HiFi-GAN-style one."""

from regen_jax.tasks import vocoder
from regen_jax.train import config as config_lib


def get_config(arg=None):
  return vocoder.default_config(config_lib.parse_arg(arg).test)
