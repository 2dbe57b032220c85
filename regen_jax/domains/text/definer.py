"""Text, X -> Y: record -> definition, by the token family over one of two kinds of Y′:
  the content plan (configs/text/planner.py, regen: record -> plan, then the realizer writes the
  definition), or the definition's own subword ids (configs/text/direct.py, the direct
  baseline). One class: which Y′ is the config's `stage1`.
"""

from regen_jax.domains.text import vocabulary as vocabulary_lib
from regen_jax.domains.text.abstractions import sequences
from regen_jax.domains.text.generation import TextPrior
from regen_jax.errors import UserError
from regen_jax.stages.base import SampleFlag


RECORD = SampleFlag("record", str, 'the record to define, JSON: {"lemma": "lighthouse", "pos": '
                    '"noun", "lexfile": "noun.artifact", "hypernym": "tower"} (text)')


class Definer(TextPrior):
  """X = a record (its text's subword ids)."""
  condition_key = "record"
  sample_flags = (RECORD,)
  sample_suffix = ".txt"

  def examples(self, split):
    records = self.records(split)
    ids = sequences(self.vocabulary, [vocabulary_lib.record_text(r) for r in records],
                    self.prefix_length)
    return {"record": ids}, [r["definition"] for r in records]

  def sample(self, params, model_state, path, record=None):
    """`--record JSON`: the definition (and, for the regen pipeline, its plan)."""
    del model_state
    if record is None:
      raise UserError("give the record to define: --record '{\"lemma\": \"lighthouse\", "
                      "\"pos\": \"noun\", \"lexfile\": \"noun.artifact\", \"hypernym\": "
                      "\"tower\"}'")
    text = vocabulary_lib.record_text(vocabulary_lib.parse_record(record))
    try:
      ids = self.vocabulary.sequence(text, self.prefix_length)[None]
    except vocabulary_lib.TooLong as e:
      raise UserError(f"--record is too long for this model ({e} pieces of the vocabulary): "
                      f"shorten its lemma or hypernym") from None
    y_prime, definition = self.generate(params, {"record": ids}, self.config.sampling.strategy,
                                        self.config.seed)
    lines = ([f"plan: {y_prime[0]}"] if self.spec.name == "plan" else []) + [
        f"definition: {definition[0]}"]
    return self.write_sample(path, lines)
