"""TFDS builder for an offline English speech corpus: Debian's espeak-ng reading real sentences.

Sentences come from Debian's `fortunes` package (quotations, aphorisms, jokes), filtered to
4–12 words of plain characters. Each sentence is spoken once, by one of several training voices at
a rate drawn around 165 words/min, at 22.05 kHz. Splits are by sentence (train / validation /
test); `test_voice` is the test sentences spoken by a voice that no training example uses.
Examples carry the text and espeak-ng's own phoneme transcript (its `-x` output) beside the audio.
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

SAMPLE_RATE = 22050
CORPUS_DIR_ENV = "REGEN_JAX_SENTENCE_DIR"
DEBIAN_CORPUS_DIR = "/usr/share/games/fortunes"
TRAIN_VOICES = ("en-us", "en-us+f3", "en-gb-x-rp+m3", "en-029+f2")
HELD_OUT_VOICE = "en-gb-scotland+m1"
VOICES = (*TRAIN_VOICES, HELD_OUT_VOICE)
_SPLIT_SEED = 20260401  # fixed forever: changing it changes every split
_PLAIN_SENTENCE = re.compile(r"[A-Z][A-Za-z0-9 ,.;:'?!\-]*[.?!]")
_MIN_WORDS, _MAX_WORDS = 4, 12


@dataclasses.dataclass
class SpeechConfig(tfds.core.BuilderConfig):
  num_train: int = 0
  num_eval: int = 0  # sentences in each of validation and test (and test_voice)


def corpus_dir() -> str:
  path = os.environ.get(CORPUS_DIR_ENV, DEBIAN_CORPUS_DIR)
  if not os.path.isdir(path):
    raise FileNotFoundError(f"sentence corpus not found in {path}: install Debian's package "
                            f"(apt-get install fortunes) or set {CORPUS_DIR_ENV}")
  return path


def _sentences_of(text: str) -> list[str]:
  """Plain sentences of a fortune file: quotations split at '%', attributions ('-- x') dropped."""
  found = []
  for entry in text.split("\n%\n"):
    body = " ".join(line.strip() for line in entry.splitlines()
                    if not line.strip().startswith("--"))
    for sentence in re.split(r"(?<=[.!?])\s+", body):
      sentence = sentence.strip()
      if (_PLAIN_SENTENCE.fullmatch(sentence) and not re.search(r"[A-Z]{2}", sentence)
          and _MIN_WORDS <= len(sentence.split()) <= _MAX_WORDS):
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


def speak(text: str, voice: str, rate: int) -> tuple[np.ndarray, str]:
  """(int16 samples at 22.05 kHz, espeak-ng's phoneme transcript) of `text`."""
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "speech.wav")
    result = subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-x", "-w", path,
                             "--", text], capture_output=True, text=True, check=True)
    with wave.open(path) as f:
      if f.getframerate() != SAMPLE_RATE or f.getsampwidth() != 2 or f.getnchannels() != 1:
        raise RuntimeError(f"espeak-ng wrote {f.getframerate()} Hz, {f.getsampwidth()} bytes, "
                           f"{f.getnchannels()} channels; expected 22050 Hz 16-bit mono")
      audio = np.frombuffer(f.readframes(f.getnframes()), np.int16)
  return audio, " ".join(result.stdout.split())


class RegenSpeech(tfds.core.GeneratorBasedBuilder):
  """English sentences read by espeak-ng voices, 22.05 kHz, with text and phoneme transcripts."""

  VERSION = tfds.core.Version("1.0.0")
  BUILDER_CONFIGS = [
      SpeechConfig(name="full", description="3000 train, 150 validation/test sentences.",
                   num_train=3000, num_eval=150),
      SpeechConfig(name="tiny", description="48 train, 8 validation/test sentences (tests).",
                   num_train=48, num_eval=8),
  ]

  def _info(self):
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "audio": tfds.features.Tensor(shape=(None,), dtype=np.int16),
            "text": tfds.features.Text(),
            "espeak_phonemes": tfds.features.Text(),
            "voice": tfds.features.ClassLabel(names=VOICES),
            "rate": tfds.features.Scalar(dtype=np.int32),
        }),
        homepage="https://github.com/espeak-ng/espeak-ng",
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
    return {"train": self._generate_examples(train, TRAIN_VOICES, 0),
            "validation": self._generate_examples(valid, TRAIN_VOICES, 1),
            "test": self._generate_examples(test, TRAIN_VOICES, 2),
            "test_voice": self._generate_examples(test, (HELD_OUT_VOICE,), 3)}

  def _generate_examples(self, texts, voices, split_seed):
    rng = np.random.default_rng([_SPLIT_SEED, split_seed])
    jobs = [(text, voices[i % len(voices)], int(rng.integers(145, 186)))
            for i, text in enumerate(texts)]
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
      spoken = pool.map(lambda job: speak(*job), jobs)
      for i, ((text, voice, rate), (audio, transcript)) in enumerate(zip(jobs, spoken)):
        yield i, {"audio": audio, "text": text, "espeak_phonemes": transcript,
                  "voice": VOICES.index(voice), "rate": rate}
