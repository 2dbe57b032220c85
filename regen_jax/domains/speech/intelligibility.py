"""Intelligibility as TTS papers measure it ("ASR-WER"): a recognizer this project did not train,
PocketSphinx with the en-us acoustic model, language model and dictionary its wheel ships,
transcribes waveforms; WER is scored against the spoken form of the text (numbers spelled out,
`phonemes.spoken_text`), on `evaluate.text.normalize_text` words.

Scores of one table must cover the same utterances: `score` reports how many it covered.
"""

import concurrent.futures
import multiprocessing
import os

import numpy as np

from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.domains.speech import audio_input
from regen_jax.evaluate import text as text_metrics

RECOGNIZER_RATE = 16000  # the en-us model's sample rate
PARALLEL_FROM = 24  # utterances from which decoding is spread over worker processes

_worker_decoder = None  # a worker process's own decoder (set by _load_decoder)


def _new_decoder():
  from pocketsphinx import Decoder  # imported here: only intelligibility scoring needs it
  return Decoder(samprate=RECOGNIZER_RATE, logfn=os.devnull)


def _decode(decoder, pcm: bytes) -> str:
  # Fresh feature extraction: its estimates (CMN, noise) otherwise carry over from the utterance
  # before, so a transcript would depend on the order of decoding and on the worker.
  decoder.reinit_feat()
  decoder.start_utt()
  decoder.process_raw(pcm, full_utt=True)
  decoder.end_utt()
  hypothesis = decoder.hyp()
  return hypothesis.hypstr if hypothesis is not None else ""


def _load_decoder():
  global _worker_decoder
  _worker_decoder = _new_decoder()


def _decode_in_worker(pcm: bytes) -> str:
  return _decode(_worker_decoder, pcm)


class Recognizer:
  """PocketSphinx's default en-us decoder (loaded once, ~1 s); `score` spreads many utterances
  over `workers` processes (default: one per CPU core), started on first need and kept."""

  def __init__(self, workers: int | None = None):
    self._decoder = _new_decoder()
    self._workers = workers or os.cpu_count() or 1
    self._pool = None

  def _pcm(self, wave: np.ndarray, sample_rate: int) -> bytes:
    audio = audio_input.resample(np.asarray(wave, np.float64), sample_rate, RECOGNIZER_RATE)
    return np.round(np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()

  def transcribe(self, wave: np.ndarray, sample_rate: int) -> str:
    """Float samples in [-1, 1] at `sample_rate` -> the recognizer's words (maybe empty)."""
    return _decode(self._decoder, self._pcm(wave, sample_rate))

  def transcribe_all(self, waves, sample_rate: int) -> list[str]:
    """`transcribe` of each waveform, in worker processes when there are many. Spawned, not
    forked: a fork of a process running JAX's threads may deadlock."""
    pcms = [self._pcm(w, sample_rate) for w in waves]
    if len(pcms) < PARALLEL_FROM or self._workers == 1:
      return [_decode(self._decoder, pcm) for pcm in pcms]
    if self._pool is None:
      self._pool = concurrent.futures.ProcessPoolExecutor(
          self._workers, mp_context=multiprocessing.get_context("spawn"),
          initializer=_load_decoder)
    return list(self._pool.map(_decode_in_worker, pcms))

  def score(self, waves, num_samples, texts: list[str], sample_rate: int) -> tuple[dict, list]:
    """({asr_wer, asr_utterances}, transcripts) of waveforms (B, T) cut to `num_samples` each."""
    if not len(texts) == len(waves) == len(num_samples):
      raise ValueError(f"{len(waves)} waveforms, {len(num_samples)} lengths, {len(texts)} texts")
    heard = self.transcribe_all([w[:int(n)] for w, n in zip(waves, num_samples)], sample_rate)
    spoken = [phoneme_lib.spoken_text(t) for t in texts]
    return ({"asr_wer": text_metrics.word_error_rate(spoken, heard), "asr_utterances": len(texts)},
            [{"text": t, "heard": h} for t, h in zip(texts, heard)])
