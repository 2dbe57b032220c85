"""Text, stage Y′ -> Y: content plan -> definition (configs/text/realizer.py), trained on
definitions alone, each with its plan by rule (`plan.py`): no record is needed.

Trained, it provides `Plans`: the plan rule one way, this stage's decoding the other (the regen
planner's stage 1).
"""

from regen_jax.domains.text import plan as plan_rule
from regen_jax.domains.text.abstractions import Plans, sequences
from regen_jax.domains.text.generation import TextPrior
from regen_jax.errors import UserError
from regen_jax.stages.abstraction import AbstractionStage
from regen_jax.stages.base import SampleFlag

PLAN = SampleFlag("plan", str, "content words to write a definition around, in order (text "
                  "realizer)")


class Realizer(TextPrior, AbstractionStage):
  condition_key = "plan"
  defining_keys = ("dataset", "text")
  sample_flags = (PLAN,)
  sample_suffix = ".txt"

  def examples(self, split):
    definitions = [r["definition"] for r in self.records(split)]
    plans = [plan_rule.plan(d) for d in definitions]
    return ({"plan": sequences(self.vocabulary, plans, self.prefix_length)},
            definitions)

  def abstraction(self, params, model_state, step):
    del model_state, step  # Y′ is the rule's: the weights only decode it

    def realize(strategy):
      def fn(weights, plan_ids, rng):
        return self.decode_ids(weights, {"plan": plan_ids[..., 0]}, strategy, rng)
      return fn, params
    return Plans(self.vocabulary, self.limits.max_plan_tokens, realize, self.strategy())

  def rule_abstraction(self):
    return Plans(self.vocabulary, self.limits.max_plan_tokens)

  def sample(self, params, model_state, path, plan=None):
    """`--plan 'tower light warning ships'`: a definition written around those words."""
    del model_state
    words = plan_rule.plan(plan or "")
    if not words:
      raise UserError("give the content words to realize: --plan 'tower light warning ships'")
    ids = sequences(self.vocabulary, [words], self.prefix_length)
    _, definition = self.generate(params, {"plan": ids}, self.config.sampling.strategy,
                                  self.config.seed)
    return self.write_sample(path, [f"plan: {words}", f"definition: {definition[0]}"])
