"""What a domain registers: its stages (the CLI declares their `sample` flags) and the
regen-vs-direct comparison (`experiments/regen_vs_direct.py` trains and scores it).

A comparison names config files under configs/ (with their `:arg`; the harness adds `test` for
its tiny runs). Workdirs link by name, the one way stages pair: a config's nested `stage1` takes
the workdir of the comparison's stage-1 run, and a nested config named like one of its
`references` (evaluation helpers trained once, charged to neither side) takes that one's.
"""

import dataclasses

from regen_jax.stages.base import Stage


@dataclasses.dataclass(frozen=True)
class StageConfig:
  config: str  # "image/prior.py:prior=maskgit": file under configs/ and its argument
  # Step-valued config keys scaled with num_steps, so a shorter run keeps the recipe's shape
  # (e.g. when a GAN's adversarial phase starts).
  scaled_keys: tuple[str, ...] = ()

  def config_arg(self, test: bool) -> str:
    """The `FILE.py:ARG` string, with `test` added for the tiny variant."""
    path, _, arg = self.config.partition(":")
    args = [a for a in (arg, "test" if test else "") if a]
    return f"{path}:{','.join(args)}" if args else path


@dataclasses.dataclass(frozen=True)
class Comparison:
  """`stage1` trains on Y alone (a learned abstraction, or the Y′ -> Y stage of a rule) and is
  reused across tasks; `regen` is X -> Y′; `direct` is X -> Y. `metric` is the key of each
  side's `evaluate` output (eval_<split>.json) that scores the whole X -> Y system."""
  stage1: StageConfig
  regen: StageConfig
  direct: StageConfig
  metric: tuple[str, str]  # (regen key, direct key)
  metric_name: str
  lower_is_better: bool = True
  eval_split: str = "test"
  references: tuple[tuple[str, StageConfig], ...] = ()
  # Further X -> Y methods, (name, config), each trained to `direct`'s budget and scored with
  # its metric key.
  baselines: tuple[tuple[str, StageConfig], ...] = ()


@dataclasses.dataclass(frozen=True)
class Domain:
  name: str
  stages: tuple[type[Stage], ...]
  comparison: Comparison
