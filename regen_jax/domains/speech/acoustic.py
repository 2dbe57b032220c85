"""Speech synthesis, stage X -> Y′: phonemes (+ voice) -> mel frames, the durations family
(`priors.durations`) over the mel rule of its stage 1, the vocoder (configs/tts/acoustic.py).

With a trained vocoder (`config.stage1.workdir`), `evaluate` and `sample` run the whole pipeline
text -> phonemes -> mel -> waveform; without one, `sample` uses Griffin-Lim. A vocoder trained
on other mel settings is refused before it is loaded.
"""

import flax.linen as nn
import jax
import numpy as np

from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.domains.speech import audio as audio_io
from regen_jax.domains.speech.utterances import (PACE, TEXT, VOICE, SpeechData, check_pace,
                                                 concatenated, padded_chunks, score_mels)
from regen_jax.errors import UserError
from regen_jax.priors.durations import DurationPrior
from regen_jax.stages.base import Exportable

_SHOWN = 4  # held-out utterances written as PNG (and WAV) at each evaluation


class PhonemeVoiceEmbedding(nn.Module):
  """X = phoneme ids and a voice -> (B, P, width): each phoneme's embedding plus the voice's."""
  num_symbols: int
  num_voices: int
  width: int

  @nn.compact
  def __call__(self, inputs):
    x = nn.Embed(self.num_symbols, self.width)(inputs["phonemes"])
    return x + nn.Embed(self.num_voices, self.width)(inputs["voice"])[:, None]


class AcousticModel(SpeechData, DurationPrior):
  sample_flags = (TEXT, VOICE, PACE)
  runtime_keys = ("num_synthesized",)

  def __init__(self, config, workdir):
    super().__init__(config, workdir)
    self._synthesize = jax.jit(self.synthesize)

  @property
  def max_symbols(self):
    return self.config.max_phonemes

  def condition_encoder(self):
    return PhonemeVoiceEmbedding(phoneme_lib.NUM_SYMBOLS, self.num_voices,
                                 self.config.encoder.width)

  def condition(self, batch):
    return {"phonemes": batch["phonemes"], "voice": batch["voice"]}, batch["num_phonemes"]

  def targets(self, batch):
    return self.log_mel(batch), batch["num_frames"]

  def on_eval(self, params, model_state, step, full=False):
    """Held-out sentences synthesized from their text: DTW mel L1 / MCD against the recordings
    and the length ratio. With `full` and a trained vocoder, also the pipeline's waveforms
    (`pipeline_*`) and their intelligibility (ASR-WER; the vocoder's `evaluate` scores the
    recordings and their resynthesis on the same utterances)."""
    arrays = self.evaluated_arrays(full, _SHOWN)
    vocode = full and self.stage1.trained
    out = concatenated([self._synthesized(params, model_state, chunk, real, vocode) for chunk, real
                        in padded_chunks(arrays, self.config.eval_batch_size)])
    scores = score_mels(out["mel"], out["num_frames"], out["reference"], arrays["num_frames"])
    for i in range(min(_SHOWN, len(out["mel"]))):
      audio_io.save_mel_png(self.output_path(f"mel_{step:07d}_{i}.png"),
                            out["mel"][i, :out["num_frames"][i]], self.mel_config.log_floor)
    if not vocode:
      return scores
    pipeline = score_mels(out["wave_mel"], out["num_frames"], out["reference"],
                          arrays["num_frames"])
    scores.update({f"pipeline_{k}": v for k, v in pipeline.items()})
    for i in range(min(_SHOWN, len(out["wave"]))):
      audio_io.write_wav(self.output_path(f"pipeline_{step:07d}_{i}.wav"),
                         out["wave"][i, :out["num_frames"][i] * self.mel_config.hop_length],
                         self.mel_config.sample_rate)
    return {**scores, **self.intelligibility("pipeline", step, out["wave"], out["num_frames"])}

  def _synthesized(self, params, model_state, chunk, real: int, vocode: bool) -> dict:
    """The first `real` rows of one chunk: predicted mels and frame counts, the recordings'
    mels, and with `vocode` the vocoder's waveforms and their mels."""
    mel, num_frames = jax.device_get(self._synthesize(params, model_state, chunk))
    reference = np.asarray(self._log_mel(chunk))
    out = {"mel": mel, "num_frames": num_frames, "reference": reference}
    if vocode:
      out["wave"] = np.asarray(self.stage1.decode(mel))
      out["wave_mel"] = np.asarray(self._mel_of_waves(out["wave"]))
    return {k: v[:real] for k, v in out.items()}

  def sample(self, params, model_state, path, text=None, voice=0, pace=1.0):
    """`--text`: WAV (through the vocoder, or Griffin-Lim without one) and the PNG of its mel."""
    if not text:
      raise UserError("give the sentence to speak: --text 'Hello there.'")
    batch = self.text_inputs(text, voice)
    mel, num_frames = jax.device_get(self._synthesize(params, model_state, batch,
                                                      check_pace(pace)))
    frames = int(num_frames[0])
    if not self.stage1.trained:
      print("no --config.stage1.workdir (a trained vocoder): the waveform is Griffin-Lim's (a "
            "reference, not the vocoder)", flush=True)
    wave = np.asarray(self.stage1.decode(mel))[0, :frames * self.mel_config.hop_length]
    return self.write_wav_and_mel(path, wave, mel[0, :frames])

  def exportable(self, params, model_state):
    """`synthesize` then the vocoder: one utterance's phoneme ids in, its waveform and valid
    sample count out. Text -> ids (the Python front end) stays outside: the description records
    the symbol table and its version."""
    if not self.stage1.trained:
      raise UserError("export needs the vocoder: pass --config.stage1.workdir=DIR (a trained "
                      "configs/tts/vocoder.py)")
    vocode, vocoder_weights = self.stage1.decoder()
    hop = self.mel_config.hop_length

    def speak(tree, phonemes, num_phonemes, voice):
      batch = {"phonemes": phonemes, "num_phonemes": num_phonemes, "voice": voice}
      mel, num_frames = self.synthesize(tree["acoustic"], tree["acoustic_state"], batch)
      return {"waveform": vocode(tree["vocoder"], mel), "num_samples": num_frames * hop}

    tree = {"acoustic": params, "acoustic_state": model_state, "vocoder": vocoder_weights}
    inputs = {k: v for k, v in self.example_batch(1).items()
              if k in ("phonemes", "num_phonemes", "voice")}
    return Exportable(speak, tree, inputs, self._export_description())

  def _export_description(self) -> dict:
    config, rate = self.config, self.mel_config.sample_rate
    return {
        "name": "tts", "dataset": config.dataset, "mel": self.mel_config.as_dict(),
        "max_phonemes": config.max_phonemes, "max_frames": config.max_frames,
        "num_voices": self.num_voices,
        "vocoder": {"workdir": config.stage1.workdir, "fingerprint": self.stage1.fingerprint},
        "phonemes": {"symbol_table_version": phoneme_lib.SYMBOL_TABLE_VERSION,
                     "symbols": list(phoneme_lib.SYMBOLS),
                     "front_end": "regen_jax.domains.speech.utterances.phoneme_ids(text): the "
                                  "word boundary's id, then "
                                  "regen_jax.abstractions.phonemes.encode(text)"},
        "inputs": {"phonemes": f"one utterance's phoneme ids (domain.phonemes.symbols), padded "
                               f"with 0 (<pad>) to {config.max_phonemes}",
                   "num_phonemes": f"how many ids are real, in [1, {config.max_phonemes}]",
                   "voice": f"voice index in [0, {self.num_voices})"},
        "ranges": {"phonemes": [0, phoneme_lib.NUM_SYMBOLS],
                   "num_phonemes": [1, config.max_phonemes + 1],
                   "voice": [0, self.num_voices]},
        "outputs": {"waveform": f"audio at {rate} Hz in [-1, 1]; past num_samples it is padding",
                    "num_samples": "the waveform's valid samples"}}
