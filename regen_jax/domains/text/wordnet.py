"""WordNet 3.0 as Debian's `wordnet-base` installs it: synsets read from the `data.<pos>` files.

Each synset gives one definition-generation example: its lemmas, part of speech, lexicographer
file (e.g. `noun.animal`), its first hypernym's first lemma (nouns and verbs; "" where there is
none) and its definition (the gloss before its quoted usage examples). The record format is in
the wndb(5WN) manual page; the files are read where they are installed, never copied.
"""

import dataclasses
import os
import re

WORDNET_DIR_ENV = "REGEN_JAX_WORDNET_DIR"
DEBIAN_WORDNET_DIR = "/usr/share/wordnet"
PARTS_OF_SPEECH = ("noun", "verb", "adj", "adv")
_POS_LETTER = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}  # as pointers name them
# lexnames(5WN): the lexicographer file of each `lex_filenum`, fixed in WordNet 3.0.
LEXFILES = (
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event",
    "noun.feeling", "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object",
    "noun.person", "noun.phenomenon", "noun.plant", "noun.possession", "noun.process",
    "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
    "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition",
    "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather",
    "adj.ppl")
_HYPERNYM_POINTERS = ("@", "@i")  # hypernym, instance hypernym
_ADJECTIVE_MARKER = re.compile(r"\((a|p|ip)\)$")  # syntactic markers: prenominal, predicate...


@dataclasses.dataclass(frozen=True)
class Synset:
  offset: str  # "<pos>:<byte offset>", unique
  lemmas: tuple[str, ...]  # lowercase, spaces for underscores
  pos: str
  lexfile: str
  hypernym: str  # its first hypernym's first lemma, or ""
  definition: str


def wordnet_dir() -> str:
  path = os.environ.get(WORDNET_DIR_ENV, DEBIAN_WORDNET_DIR)
  if not os.path.isfile(os.path.join(path, "data.noun")):
    raise FileNotFoundError(f"WordNet not found in {path}: install Debian's package "
                            f"(apt-get install wordnet-base) or set {WORDNET_DIR_ENV}")
  return path


def _lemma(word: str) -> str:
  return _ADJECTIVE_MARKER.sub("", word).replace("_", " ").lower()


def definition(gloss: str) -> str:
  """The gloss before its first quoted usage example ('; "...'), stripped."""
  return gloss.split('; "')[0].split(' "')[0].strip().rstrip(";").strip()


def _parse(line: str, pos: str) -> tuple[str, tuple[str, ...], str, list[str], str]:
  """(offset, lemmas, lexfile, hypernym offsets, definition) of one data-file line."""
  head, _, gloss = line.partition(" | ")
  fields = head.split()
  count = int(fields[3], 16)
  lemmas = tuple(dict.fromkeys(_lemma(fields[4 + 2 * i]) for i in range(count)))
  at = 4 + 2 * count
  pointers = [fields[at + 1 + 4 * k: at + 5 + 4 * k] for k in range(int(fields[at]))]
  hypernyms = [f"{target_pos}:{target}" for symbol, target, target_pos, _ in pointers
               if symbol in _HYPERNYM_POINTERS]
  offset = f"{_POS_LETTER[pos]}:{fields[0]}"
  return offset, lemmas, LEXFILES[int(fields[1])], hypernyms, definition(gloss)


def read_synsets(root: str) -> list[Synset]:
  """Every synset of the four data files, in file order (nouns, verbs, adjectives, adverbs)."""
  parsed = []
  for pos in PARTS_OF_SPEECH:
    with open(os.path.join(root, f"data.{pos}"), encoding="utf-8") as f:
      parsed.extend((pos, *_parse(line, pos)) for line in f if not line.startswith("  "))
  first_lemma = {offset: lemmas[0] for _, offset, lemmas, *_ in parsed}
  return [Synset(offset, lemmas, pos, lexfile,
                 first_lemma[hypernyms[0]] if hypernyms else "", text)
          for pos, offset, lemmas, lexfile, hypernyms, text in parsed if text]
