"""Intelligibility as TTS papers measure it ("ASR-WER"): a recognizer this project did not train,
PocketSphinx with the en-us acoustic model, language model and dictionary its wheel ships,
transcribes waveforms; WER is scored against the spoken form of the text (numbers spelled out,
`phonemes.spoken_text`), on `evaluate.text.normalize_text` words.

Scores of one table must cover the same utterances: `score` reports how many it covered.
"""

import os

import numpy as np

from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.domains.speech import audio_input
from regen_jax.evaluate import text as text_metrics

RECOGNIZER_RATE = 16000  # the en-us model's sample rate


class Recognizer:
  """PocketSphinx's default en-us decoder (loaded once, ~1 s)."""

  def __init__(self):
    from pocketsphinx import Decoder  # imported here: only intelligibility scoring needs it
    self._decoder = Decoder(samprate=RECOGNIZER_RATE, logfn=os.devnull)

  def transcribe(self, wave: np.ndarray, sample_rate: int) -> str:
    """Float samples in [-1, 1] at `sample_rate` -> the recognizer's words (maybe empty)."""
    audio = audio_input.resample(np.asarray(wave, np.float64), sample_rate, RECOGNIZER_RATE)
    pcm = np.round(np.clip(audio, -1, 1) * 32767).astype("<i2")
    self._decoder.start_utt()
    self._decoder.process_raw(pcm.tobytes(), full_utt=True)
    self._decoder.end_utt()
    hypothesis = self._decoder.hyp()
    return hypothesis.hypstr if hypothesis is not None else ""

  def score(self, waves, num_samples, texts: list[str], sample_rate: int) -> tuple[dict, list]:
    """({asr_wer, asr_utterances}, transcripts) of waveforms (B, T) cut to `num_samples` each."""
    if not len(texts) == len(waves) == len(num_samples):
      raise ValueError(f"{len(waves)} waveforms, {len(num_samples)} lengths, {len(texts)} texts")
    heard = [self.transcribe(w[:int(n)], sample_rate) for w, n in zip(waves, num_samples)]
    spoken = [phoneme_lib.spoken_text(t) for t in texts]
    return ({"asr_wer": text_metrics.word_error_rate(spoken, heard), "asr_utterances": len(texts)},
            [{"text": t, "heard": h} for t, h in zip(texts, heard)])
