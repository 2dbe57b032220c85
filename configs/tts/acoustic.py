"""Speech synthesis, stage X -> Y′: phonemes -> mel frames (durations from MAS).

  python -m regen_jax train --config configs/tts/acoustic.py --workdir runs/tts/acoustic
  python -m regen_jax sample --config configs/tts/acoustic.py --workdir runs/tts/acoustic \
      --config.stage1.workdir=runs/tts/vocoder --text "Regeneration learning, in two steps."
Arguments: speakers=one (default: flite's slt voice) or speakers=many (eight voices, a voice
embedding; pair it with a vocoder of the same argument), test (tiny). `config.stage1` nests vocoder.py's config, and `config.mel` is its mel
settings: the acoustic model predicts what that vocoder reads. With --config.stage1.workdir (a
trained vocoder.py), `evaluate` and `sample` run text -> phonemes -> mel -> waveform; a vocoder
trained on other mel settings is refused in one line.
"""

import ml_collections

from regen_jax.core import config as config_lib


def encoder_config() -> ml_collections.ConfigDict:
  """The phoneme encoder and aligner; shared with direct.py."""
  encoder = ml_collections.ConfigDict()
  encoder.width = 128
  encoder.depth = 3
  encoder.num_heads = 2
  encoder.prior_weight = 1.0
  encoder.alignment_prior = 1.0  # weight of the diagonal beta-binomial prior in MAS (0 = none)
  encoder.duration_weight = 1.0
  return encoder


ENCODER_TINY = {"encoder.width": 32, "encoder.depth": 1}


def get_config(arg=None):
  args = config_lib.parse_arg(arg, speakers="one")
  config = config_lib.base()
  config.stage = "regen_jax.domains.speech.acoustic:AcousticModel"
  speech = config_lib.sibling_module(__file__, "../speech_data.py")
  speech.add_to(config, args.speakers)
  config.stage1 = config_lib.sibling_config(__file__, "vocoder.py", args.test)
  config.stage1.workdir = ""  # a trained vocoder.py: evaluate and sample to waveforms
  config.mel = config.stage1.get_ref("mel")  # what the vocoder reads
  config.num_steps = 500  # ≈ 7.5 min on 2 CPU cores
  config.batch_size = 16
  config.eval_every = 500
  config.checkpoint_every = 250
  config.optimizer.learning_rate = 1e-3
  config.optimizer.weight_decay = 0.01
  config.encoder = encoder_config()
  config.decoder = ml_collections.ConfigDict()
  config.decoder.depth = 3
  config.decoder.num_heads = 2
  config.decoder.postnet_channels = 128

  if args.test:
    config.update_from_flattened_dict({
        **config_lib.TINY_LOOP, **speech.TINY, **ENCODER_TINY, "batch_size": 4,
        "decoder.depth": 1, "decoder.postnet_channels": 16})
  return config
