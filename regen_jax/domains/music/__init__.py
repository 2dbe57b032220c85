"""Music composition: four-part harmony of Bach chorale melodies, soprano -> chord template ->
alto, tenor and bass, beside a direct soprano -> alto, tenor and bass model.

So far the corpus (`corpus.py`, `data.py`) and the template rule (`chords.py`, `analyses.py`);
the stages are registered here once they exist.
"""

DOMAINS = ()
