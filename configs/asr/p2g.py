"""Speech recognition, stage Y′ -> Y: phonemes -> text, trained on text alone (phonemes by rule).

  python -m regen_jax train --config configs/asr/p2g.py --workdir runs/asr/p2g
  python -m regen_jax sample --config configs/asr/p2g.py --workdir runs/asr/p2g --text "Hi there."
Arguments: test (tiny).
"""

import ml_collections

from regen_jax.core import config as config_lib

SPOKEN_CHARACTERS = "regen_jax.domains.speech.characters:SpokenCharacters"


def language_model(test: bool) -> ml_collections.ConfigDict:
  """The decoding help of every ASR stage (evaluate's lm_* and lexicon_* metrics, and sample): a
  word trigram of the text corpus fused into the beam search; the same for the regen pipeline
  (here and recognizer.py) and the direct baseline (direct.py). Weights and bonuses were chosen
  on validation by experiments/asr_lm_sweep.py."""
  return ml_collections.ConfigDict({
      "dataset": "regen_text/tiny" if test else "regen_text/full",
      "order": 3,
      "weight": 0.5,  # times log P(word | history)
      "word_bonus": 3.0,  # per word: offsets the LM's preference for fewer words
      "unknown_penalty": -5.0,  # once, when a partial word leaves the vocabulary
      # Lexicon decoding (the recognizers' `lexicon_*`: vocabulary words only), chosen alike.
      "closed_weight": 0.5,
      "closed_word_bonus": 2.0,
      "closed_beam_size": 4 if test else 64,  # than 16: 2-3 points less validation WER
      "beam_size": 4 if test else 16})


def get_config(arg=None):
  args = config_lib.parse_arg(arg)
  config = config_lib.base()
  config.stage = "regen_jax.domains.speech.p2g:PhonemeToGrapheme"
  config.stage1 = ml_collections.ConfigDict({"stage": SPOKEN_CHARACTERS, "workdir": ""})
  config.dataset = "regen_text/full"
  config.max_phonemes = 96
  config.upsample = 2  # outputs per phoneme: sentences have ~1.2 letters per phoneme, "though" 3
  config.num_steps = 400  # ≈ 4 min on 2 CPU cores
  config.batch_size = 32
  config.eval_batch_size = 50
  config.eval_every = 200
  config.checkpoint_every = 200
  config.optimizer.learning_rate = 2e-3
  config.optimizer.weight_decay = 0.01
  config.model = ml_collections.ConfigDict()
  config.model.width = 128
  config.model.depth = 4
  config.model.num_heads = 4
  config.num_decoded = 150  # validation sentences decoded at each evaluation
  config.language_model = language_model(args.test)
  config.beam_label_floor = -5.0  # as configs/asr/recognizer.py's

  if args.test:
    config.update_from_flattened_dict({
        **config_lib.TINY_LOOP, "dataset": "regen_text/tiny", "batch_size": 4,
        "eval_batch_size": 8, "num_eval_examples": 8, "model.width": 32, "model.depth": 1,
        "model.num_heads": 2, "num_decoded": 8})
  return config
