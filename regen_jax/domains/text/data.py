"""TFDS builder `regen_wordnet`: definition generation from WordNet 3.0 (Debian's `wordnet-base`).

X = a synset's record (its first lemma, part of speech, lexicographer file, first hypernym's
first lemma); Y = its definition. Splits are by lemma: each distinct first lemma goes to
validation, test or train by a fixed seeded permutation (2 % / 2 % / the rest), and a training
synset whose hypernym is a held-out lemma is left out, so no word of a held-out record's lemma
appears in any training record. A subword vocabulary (sentencepiece, unigram with byte fallback)
is trained on the training definitions when the dataset is built and saved beside it
(`vocabulary.model` in the dataset's directory).
"""

import dataclasses
import functools
import io
import os

import numpy as np
import sentencepiece
import tensorflow_datasets as tfds

from regen_jax.data import pipeline
from regen_jax.domains.text import wordnet

_SPLIT_SEED = 20261207  # fixed forever: changing it changes every split
_EVAL_FRACTION = 0.02  # of the distinct lemmas, each of validation and test
VOCABULARY_FILE = "vocabulary.model"
# Pieces the vocabulary holds whole: the record's separator and field values.
SEPARATOR = "|"
USER_SYMBOLS = (SEPARATOR, *(f"<{pos}>" for pos in wordnet.PARTS_OF_SPEECH), *wordnet.LEXFILES)


@dataclasses.dataclass
class WordNetConfig(tfds.core.BuilderConfig):
  num_train: int | None = None  # None: every training synset
  num_eval: int | None = None
  vocab_size: int = 4000


def split_by_lemma(synsets: list[wordnet.Synset]) -> dict[str, list[wordnet.Synset]]:
  """{train, validation, test} synsets, by first lemma, each in a fixed seeded order."""
  lemmas = sorted({s.lemmas[0] for s in synsets})
  order = np.random.default_rng(_SPLIT_SEED).permutation(len(lemmas))
  held = int(len(lemmas) * _EVAL_FRACTION)
  split_of = {lemmas[i]: "train" for i in order[2 * held:]}
  split_of.update({lemmas[i]: "validation" for i in order[:held]})
  split_of.update({lemmas[i]: "test" for i in order[held:2 * held]})
  splits = {name: [] for name in ("train", "validation", "test")}
  for synset in synsets:
    split = split_of[synset.lemmas[0]]
    if split == "train" and split_of.get(synset.hypernym, "train") != "train":
      continue  # a held-out lemma would appear in a training record
    splits[split].append(synset)
  rng = np.random.default_rng(_SPLIT_SEED + 1)
  return {name: [found[i] for i in rng.permutation(len(found))] for name, found in splits.items()}


def train_vocabulary(texts: list[str], vocab_size: int) -> bytes:
  """A sentencepiece unigram model of `texts` (serialized): byte fallback, so any text encodes;
  ids 0 pad, 1 unknown, 2 start, 3 end; `USER_SYMBOLS` whole pieces."""
  model = io.BytesIO()
  sentencepiece.SentencePieceTrainer.train(
      sentence_iterator=iter(texts), model_writer=model, model_type="unigram",
      vocab_size=vocab_size, hard_vocab_limit=False, byte_fallback=True, character_coverage=1.0,
      pad_id=0, unk_id=1, bos_id=2, eos_id=3, user_defined_symbols=list(USER_SYMBOLS),
      num_threads=1, minloglevel=2)
  return model.getvalue()


class RegenWordnet(tfds.core.GeneratorBasedBuilder):
  """WordNet 3.0 synsets: record -> definition, split by lemma."""

  VERSION = tfds.core.Version("1.0.0")
  BUILDER_CONFIGS = [
      WordNetConfig(name="full", description="every synset with a definition, ~113k train / "
                    "~2.3k validation / ~2.3k test"),
      WordNetConfig(name="tiny", description="600 train / 32 validation / 32 test (tests)",
                    num_train=600, num_eval=32, vocab_size=600),
  ]

  def _info(self):
    text = tfds.features.Text()
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "synset": text, "lemma": text, "synonyms": text, "pos": text, "lexfile": text,
            "hypernym": text, "definition": text}),
        homepage="https://wordnet.princeton.edu/")

  def _split_generators(self, dl_manager):
    del dl_manager  # everything is local
    config = self.builder_config
    splits = split_by_lemma(wordnet.read_synsets(wordnet.wordnet_dir()))
    splits["train"] = splits["train"][:config.num_train]
    for name in ("validation", "test"):
      splits[name] = splits[name][:config.num_eval]
    # self.data_dir is the dataset's directory while it is built: the file moves with it.
    with open(os.path.join(self.data_dir, VOCABULARY_FILE), "wb") as f:
      f.write(train_vocabulary([s.definition for s in splits["train"]], config.vocab_size))
    return {name: self._generate_examples(found) for name, found in splits.items()}

  def _generate_examples(self, synsets):
    for synset in synsets:
      yield synset.offset, {"synset": synset.offset, "lemma": synset.lemmas[0],
                            "synonyms": ", ".join(synset.lemmas[1:]), "pos": synset.pos,
                            "lexfile": synset.lexfile, "hypernym": synset.hypernym,
                            "definition": synset.definition}


_FIELDS = ("lemma", "pos", "lexfile", "hypernym", "definition")


def load(dataset: str, split: str, data_dir: str | None) -> list[dict[str, str]]:
  """The records of `split` (the dataset is built first if it is not), as dicts of text."""
  return [{key: record[key].decode() for key in _FIELDS}
          for record in pipeline.read_split(dataset, split, data_dir)]


@functools.cache
def vocabulary_path(dataset: str, data_dir: str | None) -> str:
  """The dataset's subword vocabulary (building the dataset first if it is not)."""
  pipeline.data_source(dataset, "train", data_dir)  # prepares it
  builder = tfds.builder(dataset, data_dir=os.path.expanduser(data_dir) if data_dir else None,
                         file_format="array_record")
  return os.path.join(builder.data_dir, VOCABULARY_FILE)
