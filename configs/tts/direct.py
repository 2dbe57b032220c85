"""Speech synthesis baseline X -> Y: phonemes -> waveform in one model, no mel bottleneck: the
acoustic model's encoder and aligner (acoustic.py) feeding the vocoder's generator and GAN
(vocoder.py), with the vocoder's steps and batch.

  python -m regen_jax train --config configs/tts/direct.py --workdir runs/tts/direct
  python -m regen_jax sample --config configs/tts/direct.py --workdir runs/tts/direct --text "Hi."
Arguments: speakers=one|many (as acoustic.py), test (tiny).
"""

import ml_collections

from regen_jax.core import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg, speakers="one")
  vocoder = config_lib.sibling_module(__file__, "vocoder.py")
  acoustic = config_lib.sibling_module(__file__, "acoustic.py")
  speech = config_lib.sibling_module(__file__, "../speech_data.py")
  config = config_lib.base()
  config.stage = "regen_jax.domains.speech.tts_direct:TTSDirect"
  speech.add_to(config, args.speakers)
  config.num_steps = 600  # the vocoder's steps and batch: ≈ 7 min on 2 CPU cores
  config.batch_size = 8
  config.eval_every = 600
  config.checkpoint_every = 250
  config.optimizer.learning_rate = 1e-3
  config.optimizer.warmup_steps = 50
  vocoder.gan_optimizers(config)
  config.encoder = acoustic.encoder_config()
  config.frames = ml_collections.ConfigDict()
  config.frames.depth = 3
  config.frames.num_heads = 2
  config.gan = vocoder.gan_config()

  if args.test:
    config.update_from_flattened_dict({
        **config_lib.TINY_LOOP, **speech.TINY, **acoustic.ENCODER_TINY, **vocoder.GAN_TINY,
        "batch_size": 4, "frames.depth": 1})
  return config
