"""The subword vocabulary of a text dataset, and the records of X.

Text is cut into sentencepiece pieces of the vocabulary trained on the training definitions
(`data.train_vocabulary`). Its byte fallback encodes any character: a character no piece holds
becomes its UTF-8 bytes, so no text is refused for its characters (and none maps to "unknown").
A sequence is its pieces, then [END], then [PAD] up to a fixed length.

A record (X) is JSON such as {"lemma": "lighthouse", "pos": "noun", "lexfile": "noun.artifact",
"hypernym": "tower"}, read as the text "<noun> noun.artifact | lighthouse | tower".
"""

import functools
import hashlib
import json

import numpy as np
import sentencepiece

from regen_jax.domains.text import wordnet
from regen_jax.domains.text.data import SEPARATOR, vocabulary_path
from regen_jax.errors import UserError

PAD, UNKNOWN, START, END = 0, 1, 2, 3
RECORD_KEYS = ("lemma", "pos", "lexfile", "hypernym")


class TooLong(ValueError):
  """A text needs more pieces than the sequence holds."""


class Vocabulary:
  def __init__(self, path: str):
    with open(path, "rb") as f:
      model = f.read()
    self.processor = sentencepiece.SentencePieceProcessor(model_proto=model)
    self.size = self.processor.vocab_size()
    self.digest = hashlib.sha256(model).hexdigest()[:12]

  def sequence(self, text: str, length: int) -> np.ndarray:
    """The pieces of `text`, [END] and padding: (length,) int32; `TooLong` if they do not fit."""
    ids = self.processor.encode(text) + [END]
    if len(ids) > length:
      raise TooLong(f"{len(ids)} pieces, more than {length}")
    return np.pad(np.asarray(ids, np.int32), (0, length - len(ids)))

  def text(self, ids) -> str:
    """The text of a sequence, up to its first [END]."""
    ids = [int(i) for i in ids]
    ids = ids[:ids.index(END)] if END in ids else ids
    return self.processor.decode([i for i in ids if i > END])


@functools.cache
def of_dataset(dataset: str, data_dir: str | None) -> Vocabulary:
  return Vocabulary(vocabulary_path(dataset, data_dir))


def record_text(record: dict[str, str]) -> str:
  return (f"<{record['pos']}> {record['lexfile']} {SEPARATOR} {record['lemma']} {SEPARATOR} "
          f"{record['hypernym']}")


def parse_record(text: str) -> dict[str, str]:
  """A record from the command line's JSON, checked: one-line `UserError`s for what is wrong."""
  try:
    record = json.loads(text)
  except json.JSONDecodeError as e:
    raise UserError(f"--record is not JSON ({e.msg} at character {e.pos}): give e.g. "
                    f"'{{\"lemma\": \"lighthouse\", \"pos\": \"noun\", \"lexfile\": "
                    f"\"noun.artifact\", \"hypernym\": \"tower\"}}'") from None
  if not isinstance(record, dict):
    raise UserError(f"--record must be a JSON object with {', '.join(RECORD_KEYS)}, "
                    f"not {type(record).__name__}")
  unknown = sorted(set(record) - set(RECORD_KEYS))
  if unknown:
    raise UserError(f"--record has unknown keys {unknown}; it takes {', '.join(RECORD_KEYS)}")
  record = {"hypernym": "", **record}
  for key in RECORD_KEYS:
    if key not in record:
      raise UserError(f"--record needs {key!r}")
    if not isinstance(record[key], str):
      raise UserError(f"--record's {key!r} must be a string, not {record[key]!r}")
    record[key] = " ".join(record[key].split())
  if not record["lemma"]:
    raise UserError("--record's lemma is empty: give the word to define")
  if record["pos"] not in wordnet.PARTS_OF_SPEECH:
    raise UserError(f"--record's pos {record['pos']!r} is not one of "
                    f"{', '.join(wordnet.PARTS_OF_SPEECH)}")
  lexfiles = [name for name in wordnet.LEXFILES if name.startswith(record["pos"] + ".")]
  if record["lexfile"] not in lexfiles:
    raise UserError(f"--record's lexfile {record['lexfile']!r} is not a lexicographer file of "
                    f"{record['pos']}s ({', '.join(lexfiles)})")
  return record
