"""One way to pair stages.

A stage 2's config nests its stage 1's config as `config.stage1`, with the stage-1 workdir as
`config.stage1.workdir`; any other trained stage a stage reads (the image prior's evaluation
classifier, a vocoder's acoustic model) is linked the same way, `{stage, workdir}`. Linking
refuses in one line, before anything is loaded: a workdir that holds another stage, a nested
stage-1 config whose Y′-defining keys (`AbstractionStage.defining_keys`) differ from the
trained ones, and a workdir given to a rule. Each stage-2 checkpoint records its stage 1's
fingerprint (`Stage.trained_against`); the loop refuses any other.
"""

from regen_jax.core import config as config_lib
from regen_jax.core import loop
from regen_jax.core import workdir as workdir_lib
from regen_jax.errors import UserError
from regen_jax.stages.abstraction import Abstraction, AbstractionStage
from regen_jax.stages.base import import_class


def restore_linked(link, name: str, overrides: dict | None = None) -> loop.Restored:
  """The trained stage that nested config `name` ({stage, workdir, ...}) links to, built from
  the config saved in its workdir (with run-time `overrides`, e.g. {'stage1.workdir': ''} when
  its own stage 1 is not needed), parameters only."""
  stage = workdir_lib.short_name(link.stage)
  if not link.get("workdir"):
    raise UserError(f"no workdir for {name} (a trained {stage!r} stage): pass "
                    f"--config.{name}.workdir=DIR")
  saved = workdir_lib.require_saved_config(link.workdir, f"the {stage!r} stage ({name})")
  workdir_lib.check_same_stage(saved, link.stage, link.workdir)
  saved.update_from_flattened_dict(overrides or {})
  return loop.restore_for_inference(saved, link.workdir)


def restore_workdir(workdir: str, what: str = "this stage") -> loop.Restored:
  """The stage trained in `workdir`, built from the config saved there, parameters only."""
  return loop.restore_for_inference(workdir_lib.require_saved_config(workdir, what), workdir)


def load_stage1(config) -> Abstraction:
  """The abstraction `config.stage1` provides: a rule built from its config, the rule of a
  stage 1 whose way back is trained (when no workdir is given), or a trained stage 1's."""
  link = config.stage1
  cls = import_class(link.stage, (Abstraction, AbstractionStage))
  stage = workdir_lib.short_name(link.stage)
  if issubclass(cls, Abstraction):
    if link.get("workdir"):
      raise UserError(f"stage 1 ({stage}) is a rule: it takes no workdir "
                      f"(--config.stage1.workdir={link.workdir})")
    return cls.from_config(link)
  if not link.get("workdir"):
    return cls(link, None).rule_abstraction()
  saved = workdir_lib.require_saved_config(link.workdir, f"stage 1 ({stage})")
  workdir_lib.check_same_stage(saved, link.stage, link.workdir)
  defining = lambda c: {key: c.get(key) for key in cls.defining_keys}
  differing = config_lib.differences(defining(saved), defining(link))
  if differing:
    raise UserError(f"config.stage1 differs from the stage 1 trained in {link.workdir} in what "
                    f"defines Y′ ({'; '.join(differing[:4])}): match its config, or retrain it")
  restored = loop.restore_for_inference(saved, link.workdir)
  return restored.stage.abstraction(restored.params, restored.model_state, restored.step)
