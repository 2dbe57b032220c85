"""Settings of the offline speech corpus that configs/tts and configs/asr share: which corpus,
the mel rule, and the utterance limits (longer utterances are left out, the count printed).
Not a stage config: a stage config calls `add_to(config)` and, in its `:test` block, applies
`TINY` after `config.TINY_LOOP`."""

import ml_collections

from regen_jax.abstractions import mel as mel_lib

TINY = {"dataset": "regen_speech/tiny", "eval_batch_size": 8, "num_eval_examples": 8,
        "num_synthesized": 4}


def add_to(config: ml_collections.ConfigDict):
  config.dataset = "regen_speech/full"
  config.mel = mel_lib.default_config_dict()
  config.max_frames = 448  # 5.2 s at 22.05 kHz, hop 256
  config.max_phonemes = 96
  config.eval_batch_size = 50
  config.num_synthesized = 50  # held-out utterances synthesized by `evaluate`
