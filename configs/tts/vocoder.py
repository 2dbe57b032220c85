"""Speech synthesis, stage Y′ -> Y (trained on audio alone): GAN vocoder, mel -> waveform.

  python -m regen_jax train --config configs/tts/vocoder.py --workdir runs/tts/vocoder
Arguments: speakers=one|many (as acoustic.py), test (tiny). --config.finetune_on.workdir=DIR trains on the predicted mels of a
trained acoustic model (teacher-forced durations) instead of the recordings' mels;
--config.gan.generator=hifigan swaps the default Vocos-style generator for a HiFi-GAN-style one.
"""

import ml_collections

from regen_jax.core import config as config_lib


def gan_config() -> ml_collections.ConfigDict:
  """Generator, discriminators and GAN losses; shared with direct.py."""
  gan = ml_collections.ConfigDict()
  # "spectral": Vocos-style frame-rate ConvNeXt predicting STFT magnitudes on a phase rule;
  # "hifigan": transposed-conv upsampling at the sample rate. At the CPU demo budget the
  # spectral one learns far faster and runs faster (docs/tts.md).
  gan.generator = "spectral"
  gan.generator_channels = 64  # HiFi-GAN V2 has 128: 1.7x the CPU time
  gan.upsample_rates = (8, 8, 2, 2)  # product = the mel hop length
  gan.resblock_kernels = (3, 7, 11)
  gan.resblock_dilations = (1, 3, 5)
  gan.spectral_channels = 256  # Vocos base: 512 channels, depth 8
  gan.spectral_depth = 8
  gan.periods = (2, 3, 5, 7, 11)
  gan.num_scales = 3
  gan.period_channels = (16, 32, 64, 128)
  gan.scale_channels = (16, 32, 64, 128, 128)
  gan.segment_frames = 32
  gan.mel_weight = 45.0
  gan.feature_matching_weight = 2.0
  # Mel-L1 warm-up of the generator alone (half the cost of a GAN step), then the full GAN.
  gan.adversarial_start_step = 450
  return gan


GAN_TINY = {"gan.generator_channels": 16, "gan.resblock_kernels": (3,),
            "gan.resblock_dilations": (1, 3), "gan.spectral_channels": 32,
            "gan.spectral_depth": 2, "gan.periods": (2, 3), "gan.num_scales": 1,
            "gan.period_channels": (4, 8), "gan.scale_channels": (4, 8, 8),
            "gan.segment_frames": 16, "gan.adversarial_start_step": 2}


def gan_optimizers(config):
  """HiFi-GAN's Adam betas; each player (a top-level param tree) its own optimizer state and
  gradient clipping."""
  config.optimizer.b1, config.optimizer.b2 = 0.8, 0.99
  config.optimizer.weight_decay = 0.0
  config.optimizer.grad_clip_norm = 10.0
  rate = config.optimizer.learning_rate
  config.optimizers = ml_collections.ConfigDict({"discriminator": {"learning_rate": rate},
                                                 "generator": {"learning_rate": rate}})


def get_config(arg=None):
  args = config_lib.parse_arg(arg, speakers="one")
  config = config_lib.base()
  config.stage = "regen_jax.domains.speech.vocoder:Vocoder"
  speech = config_lib.sibling_module(__file__, "../speech_data.py")
  speech.add_to(config, args.speakers)
  config.num_steps = 600  # ≈ 3 min on 2 CPU cores
  config.batch_size = 8
  config.eval_every = 600
  config.checkpoint_every = 250
  config.optimizer.learning_rate = 1e-3
  config.optimizer.warmup_steps = 50
  gan_optimizers(config)  # after the learning rate: each player starts from it
  config.gan = gan_config()
  config.finetune_on = ml_collections.ConfigDict({
      "stage": "regen_jax.domains.speech.acoustic:AcousticModel", "workdir": ""})

  if args.test:
    config.update_from_flattened_dict({**config_lib.TINY_LOOP, **speech.TINY, **GAN_TINY,
                                       "batch_size": 4})
  return config
