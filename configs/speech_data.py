"""Settings of the offline speech corpus that configs/tts and configs/asr share: which corpus,
the mel rule, and the utterance limits (longer utterances are left out, the count printed).
Not a stage config: a stage config calls `add_to(config, speakers)` and, in its `:test` block,
applies `TINY` after `config.TINY_LOOP`.

speakers="one": `regen_speech/slt`, every sentence read by flite's slt voice (TTS, as LJSpeech);
speakers="many": `regen_speech/full`, eight voices, festival's held out as `test_voice` (ASR, and
multi-speaker TTS with its voice embedding)."""

import ml_collections

from regen_jax.abstractions import mel as mel_lib
from regen_jax.errors import UserError

TINY = {"dataset": "regen_speech/tiny", "eval_batch_size": 8, "num_eval_examples": 8,
        "num_synthesized": 4}


DATASETS = {"one": "regen_speech/slt", "many": "regen_speech/full"}


def add_to(config: ml_collections.ConfigDict, speakers: str):
  if speakers not in DATASETS:
    raise UserError(f"speakers={speakers!r}: give one of {', '.join(DATASETS)}")
  config.dataset = DATASETS[speakers]
  config.mel = mel_lib.default_config_dict()
  config.max_frames = 448  # 5.2 s at 22.05 kHz, hop 256
  config.max_phonemes = 96
  config.eval_batch_size = 50
  config.num_synthesized = 0  # held-out utterances synthesized by `evaluate` (0: all)
