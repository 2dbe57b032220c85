"""Speech recognition, stage X -> Y′: speech -> phonemes (CTC).

  python -m regen_jax train --config configs/asr/recognizer.py --workdir runs/asr/recognizer
  python -m regen_jax evaluate --config configs/asr/recognizer.py --workdir runs/asr/recognizer \
      --config.stage1.workdir=runs/asr/p2g --config.eval_split=test
  python -m regen_jax sample --config configs/asr/recognizer.py --workdir runs/asr/recognizer \
      --config.stage1.workdir=runs/asr/p2g --audio speech.wav
Arguments: test (tiny). `config.stage1` nests p2g.py's config; with --config.stage1.workdir (a
trained p2g.py), evaluation reports CER/WER of the whole pipeline speech -> phonemes -> text,
and `sample` prints text.
"""

import ml_collections

from regen_jax.core import config as config_lib


def recognizer_config(args, stage1: ml_collections.ConfigDict, max_labels: int):
  """A recognizer whose CTC targets are `stage1`'s symbols, at most `max_labels` per utterance:
  shared by this file and direct.py."""
  config = config_lib.base()
  config.stage = "regen_jax.domains.speech.recognizer:Recognizer"
  speech = config_lib.sibling_module(__file__, "../speech_data.py")
  speech.add_to(config, "many")
  config.stage1 = stage1
  config.max_labels = max_labels  # longer transcripts are left out
  config.num_steps = 1100  # ≈ 8.5 min on 2 CPU cores
  config.batch_size = 16
  config.eval_every = 550
  config.checkpoint_every = 250
  config.optimizer.learning_rate = 2e-3
  config.optimizer.weight_decay = 0.01
  config.model = ml_collections.ConfigDict()
  config.model.width = 144
  config.model.depth = 4
  config.model.num_heads = 4
  config.model.num_subsampling_convs = 1  # 43 outputs/s: room for ~16 characters/s plus blanks
  config.model.num_conv_blocks = 2
  config.model.conv_kernel_size = 5
  config.spec_augment = ml_collections.ConfigDict()
  config.spec_augment.num_freq_masks = 2
  config.spec_augment.max_freq_width = 10  # of 80 mel bins
  config.spec_augment.num_time_masks = 2
  config.spec_augment.max_time_fraction = 0.05
  config.num_decoded = 50  # validation utterances decoded at each training evaluation
  config.beam_size = 8
  config.beam_label_floor = -5.0  # log-prob: lower labels of a frame are not tried (docs/asr.md)
  config.language_model = config_lib.sibling_module(__file__, "p2g.py").language_model(args.test)
  config.score_pocketsphinx = True  # evaluate also scores PocketSphinx on the same recordings
  config.sample_decoding = "lexicon"  # how `sample` transcribes (Recognizer.transcripts)

  if args.test:
    config.update_from_flattened_dict({
        **config_lib.TINY_LOOP, **speech.TINY, "batch_size": 4, "model.width": 32,
        "model.depth": 1, "model.num_heads": 2, "num_decoded": 8, "beam_size": 4})
  return config


def get_config(arg=None):
  args = config_lib.parse_arg(arg)
  stage1 = config_lib.sibling_config(__file__, "p2g.py", args.test)
  stage1.workdir = ""  # a trained p2g.py: spells the recognized phonemes
  return recognizer_config(args, stage1, max_labels=96)  # phonemes: max_phonemes
