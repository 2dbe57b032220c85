"""The music template rule (regen_jax/domains/music/chords.py) over the whole chorale corpus:
which chorales the grid holds, how the beats' chords and the fermatas' cadences are distributed,
and how often the rule's chord roots agree with the expert Roman-numeral analyses in the
`music21` wheel.

  python experiments/music_template.py [OUT.json]
prints JSON (and writes OUT.json when given).
"""

import collections
import json
import platform
import sys

from regen_jax.domains.music import analyses, chords, corpus


def main(out: str | None):
  chorales, left_out = corpus.read_chorales()
  chord_counts, cadence_counts = collections.Counter(), collections.Counter()
  for chorale in chorales:
    symbols = chords.chords(chorale)
    chord_counts.update(chords.CHORDS[s] for s in symbols)
    cadence_counts.update(chords.CADENCES[c] for c in chords.cadences(chorale, symbols) if c)
  beats = sum(chord_counts.values())
  summary = {
      "command": "python experiments/music_template.py",
      "machine": platform.machine(), "music21": corpus._music21().__version__,  # pylint: disable=protected-access
      "rule_version": chords.RULE_VERSION,
      "chorales_in_corpus": len(chorales) + len(left_out), "chorales_held": len(chorales),
      "left_out": left_out,
      "tunes": len({corpus.melody_id(c) for c in chorales}),
      "beats": beats,
      "chord_share": {name: round(count / beats, 4) for name, count in chord_counts.most_common()},
      "symbols_used": len(chord_counts),
      "fermata_cadences": dict(cadence_counts.most_common()),
      "expert_analyses": analyses.agreement(),
  }
  text = json.dumps(summary, indent=1)
  print(text)
  if out:
    with open(out, "w") as f:
      f.write(text + "\n")


if __name__ == "__main__":
  main(sys.argv[1] if len(sys.argv) > 1 else None)
