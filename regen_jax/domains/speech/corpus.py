"""TFDS builder for an offline English speech corpus: voices built from real speakers' recordings
(flite and festival, Debian packages), with espeak-ng's formant voices for variety.

Sentences come from Debian's `fortunes` package (quotations, aphorisms, jokes), filtered to
4–12 words of plain characters that the phoneme front end reads. Splits are by sentence (train /
validation / test); every engine's output is resampled to 22.05 kHz 16-bit mono. Examples carry the
text and its ARPAbet transcript (the front end's, `abstractions/phonemes.py`, word boundaries as
|) beside the audio.

Configs:
  slt:  every sentence read by flite's `slt` (a CMU ARCTIC speaker's voice) at its own rate, the
        single-speaker TTS corpus, as LJSpeech is.
  full: each sentence read once, voices taking turns: flite's slt, rms, awb and kal16 and four
        espeak-ng voices at rates around 165 words/min; `test_voice` is the test sentences read
        by the held-out engine, festival (the HTS `slt` voice and the kal and ked diphone
        voices), which no other split uses: the multi-speaker TTS and the ASR corpus.
  tiny: `full` with 48 training and 8 evaluation sentences (tests).
"""

import concurrent.futures
import dataclasses
import os
import re
import subprocess
import tempfile
import wave

import numpy as np
import tensorflow_datasets as tfds

from regen_jax.abstractions import phonemes as phoneme_lib
from regen_jax.domains.speech import audio_input
from regen_jax.errors import UserError

SAMPLE_RATE = 22050
CORPUS_DIR_ENV = "REGEN_JAX_SENTENCE_DIR"
DEBIAN_CORPUS_DIR = "/usr/share/games/fortunes"
# A voice is "engine:name"; its engine picks the program (`speak`).
FLITE_VOICES = ("flite:slt", "flite:rms", "flite:awb", "flite:kal16")
ESPEAK_VOICES = ("espeak-ng:en-us", "espeak-ng:en-us+f3", "espeak-ng:en-gb-x-rp+m3",
                 "espeak-ng:en-029+f2")
TRAIN_VOICES = FLITE_VOICES + ESPEAK_VOICES
HELD_OUT_VOICES = ("festival:cmu_us_slt_arctic_hts", "festival:kal_diphone",
                   "festival:ked_diphone")
VOICES = TRAIN_VOICES + HELD_OUT_VOICES
SINGLE_VOICE = "flite:slt"
_SPLIT_SEED = 20260401  # fixed forever: changing it changes every split
_PLAIN_SENTENCE = re.compile(r"[A-Z][A-Za-z0-9 ,.;:'?!\-]*[.?!]")
_MIN_WORDS, _MAX_WORDS = 4, 12
_ESPEAK_WORDS_PER_MINUTE = 165


@dataclasses.dataclass
class SpeechConfig(tfds.core.BuilderConfig):
  num_train: int = 0
  num_eval: int = 0  # sentences in each of validation and test (and test_voice)
  train_voices: tuple[str, ...] = TRAIN_VOICES
  held_out_voices: tuple[str, ...] = HELD_OUT_VOICES  # empty: no test_voice split
  vary_rate: bool = True  # each utterance's rate drawn within ±12 % of the voice's own

  @property
  def voices(self) -> tuple[str, ...]:
    return self.train_voices + self.held_out_voices


def corpus_dir() -> str:
  path = os.environ.get(CORPUS_DIR_ENV, DEBIAN_CORPUS_DIR)
  if not os.path.isdir(path):
    raise FileNotFoundError(f"sentence corpus not found in {path}: install Debian's package "
                            f"(apt-get install fortunes) or set {CORPUS_DIR_ENV}")
  return path


def _readable(sentence: str) -> bool:
  try:
    phoneme_lib.encode(sentence)
  except UserError:
    return False
  return True


def _sentences_of(text: str) -> list[str]:
  """Plain sentences of a fortune file: quotations split at '%', attributions ('-- x') dropped."""
  found = []
  for entry in text.split("\n%\n"):
    body = " ".join(line.strip() for line in entry.splitlines()
                    if not line.strip().startswith("--"))
    for sentence in re.split(r"(?<=[.!?])\s+", body):
      sentence = sentence.strip()
      if (_PLAIN_SENTENCE.fullmatch(sentence) and not re.search(r"[A-Z]{2}", sentence)
          and _MIN_WORDS <= len(sentence.split()) <= _MAX_WORDS and _readable(sentence)):
        found.append(sentence)
  return found


def sentences(root: str) -> list[str]:
  """Every usable sentence of the corpus, deduplicated, in a fixed seeded order."""
  found = set()
  for name in sorted(os.listdir(root)):
    path = os.path.join(root, name)
    if "." not in name and os.path.isfile(path) and not os.path.islink(path):
      with open(path, encoding="latin-1") as f:
        found.update(_sentences_of(f.read()))
  ordered = sorted(found)
  return [ordered[i] for i in np.random.default_rng(_SPLIT_SEED).permutation(len(ordered))]


def _command(voice: str, path: str, stretch: float) -> tuple[list[str], str | None]:
  """(argv, stdin) of the program that writes `voice` reading stdin's or argv's text to `path`;
  `stretch` > 1 speaks slower."""
  engine, name = voice.split(":", 1)
  if engine == "flite":
    return ["flite", "-voice", name, "--setf", f"duration_stretch={stretch:.3f}", "-o", path,
            "-t"], None
  if engine == "espeak-ng":
    rate = round(_ESPEAK_WORDS_PER_MINUTE / stretch)
    return ["espeak-ng", "-v", name, "-s", str(rate), "-w", path, "--"], None
  if engine == "festival":  # its voices keep their own rate
    return ["text2wave", "-eval", f"(voice_{name})", "-o", path], "stdin"
  raise ValueError(f"unknown speech engine {engine!r} in voice {voice!r}")


def speak(text: str, voice: str, stretch: float = 1.0) -> np.ndarray:
  """int16 samples at 22.05 kHz of `voice` ("engine:name") reading `text`."""
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "speech.wav")
    argv, stdin = _command(voice, path, stretch)
    subprocess.run(argv + ([] if stdin else [text]), input=text if stdin else None,
                   capture_output=True, text=True, check=True)
    with wave.open(path) as f:
      if f.getsampwidth() != 2 or f.getnchannels() != 1:
        raise RuntimeError(f"{voice} wrote {f.getsampwidth()} bytes, {f.getnchannels()} "
                           f"channels; expected 16-bit mono")
      rate = f.getframerate()
      audio = np.frombuffer(f.readframes(f.getnframes()), np.int16)
  return to_corpus_rate(audio, rate)


def to_corpus_rate(audio: np.ndarray, rate: int) -> np.ndarray:
  """int16 `audio` at `rate` Hz -> int16 at 22.05 kHz."""
  if rate == SAMPLE_RATE:
    return audio
  out = audio_input.resample(audio.astype(np.float32), rate, SAMPLE_RATE)
  return np.clip(np.round(out), -32768, 32767).astype(np.int16)


class RegenSpeech(tfds.core.GeneratorBasedBuilder):
  """English sentences read by flite, festival and espeak-ng voices at 22.05 kHz, with text and
  ARPAbet transcripts."""

  VERSION = tfds.core.Version("2.0.0")
  RELEASE_NOTES = {"2.0.0": "flite and festival voices (from recordings) beside espeak-ng; the "
                            "slt single-voice config; ARPAbet transcripts; held-out engine."}
  BUILDER_CONFIGS = [
      SpeechConfig(name="full", description="3000 train, 150 validation/test sentences, eight "
                   "voices; test_voice read by festival's.", num_train=3000, num_eval=150),
      SpeechConfig(name="slt", description="3000 train, 150 validation/test sentences, all read "
                   "by flite's slt.", num_train=3000, num_eval=150, train_voices=(SINGLE_VOICE,),
                   held_out_voices=(), vary_rate=False),
      SpeechConfig(name="tiny", description="48 train, 8 validation/test sentences (tests).",
                   num_train=48, num_eval=8),
  ]

  def _info(self):
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            # Bytes, not TFDS's default int64 list: 2 bytes a sample keeps a split in memory
            # while it is shuffled (over 1 GB TFDS needs TensorFlow, not installed).
            "audio": tfds.features.Tensor(shape=(None,), dtype=np.int16,
                                          encoding=tfds.features.Encoding.BYTES),
            "text": tfds.features.Text(),
            "phonemes": tfds.features.Text(),
            "voice": tfds.features.ClassLabel(names=self.builder_config.voices),
            "stretch": tfds.features.Scalar(dtype=np.float32),
        }),
        homepage="http://www.festvox.org/flite/",
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # everything is local
    config = self.builder_config
    corpus = sentences(corpus_dir())
    needed = config.num_train + 2 * config.num_eval
    if len(corpus) < needed:
      raise ValueError(f"the corpus has {len(corpus)} usable sentences, {needed} are needed")
    valid = corpus[:config.num_eval]
    test = corpus[config.num_eval:2 * config.num_eval]
    train = corpus[2 * config.num_eval:needed]
    splits = {"train": self._generate_examples(train, config.train_voices, 0),
              "validation": self._generate_examples(valid, config.train_voices, 1),
              "test": self._generate_examples(test, config.train_voices, 2)}
    if config.held_out_voices:
      splits["test_voice"] = self._generate_examples(test, config.held_out_voices, 3)
    return splits

  def _generate_examples(self, texts, voices, split_seed):
    config = self.builder_config
    rng = np.random.default_rng([_SPLIT_SEED, split_seed])
    stretches = rng.uniform(0.88, 1.12, len(texts)) if config.vary_rate else np.ones(len(texts))
    jobs = [(text, voices[i % len(voices)], float(stretches[i])) for i, text in enumerate(texts)]
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
      spoken = pool.map(lambda job: speak(*job), jobs)
      for i, ((text, voice, stretch), audio) in enumerate(zip(jobs, spoken)):
        yield i, {"audio": audio, "text": text,
                  "phonemes": phoneme_lib.to_string(phoneme_lib.encode(text)),
                  "voice": config.voices.index(voice), "stretch": stretch}
