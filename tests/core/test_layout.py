"""The layout's rules: the shared core imports no domain, every domain's stages implement the
stage interface, every config loads at both sizes, and no file cites one outside the repo."""

import ast
import inspect
import os

import pytest

from regen_jax import domains
from regen_jax.core import config as config_lib
from regen_jax.stages.base import Stage, import_class
from tests.helpers import ROOT

PACKAGE = os.path.join(ROOT, "regen_jax")
# Modules that may know the domains: the domains themselves and the command line.
ENTRY_POINTS = ("domains", "cli.py", "__main__.py")


def _modules(root: str):
  for directory, _, names in os.walk(root):
    for name in names:
      if name.endswith(".py"):
        yield os.path.join(directory, name)


def _imports(path: str) -> set[str]:
  tree = ast.parse(open(path).read(), path)
  found = set()
  for node in ast.walk(tree):  # function-level imports included
    if isinstance(node, ast.Import):
      found.update(alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
      found.add(node.module)
      found.update(f"{node.module}.{alias.name}" for alias in node.names)
  return found


def test_the_shared_core_imports_no_domain():
  shared = [path for path in _modules(PACKAGE)
            if os.path.relpath(path, PACKAGE).split(os.sep)[0] not in ENTRY_POINTS]
  assert len(shared) > 20
  offenders = {os.path.relpath(path, ROOT): sorted(name for name in _imports(path)
                                                   if name.startswith("regen_jax.domains"))
               for path in shared}
  assert not {path: names for path, names in offenders.items() if names}


def test_the_import_check_sees_an_import_inside_a_function(tmp_path):
  module = tmp_path / "late.py"
  module.write_text("def f():\n  from regen_jax.domains.image import prior\n")
  assert "regen_jax.domains.image" in _imports(str(module))


def test_every_registered_stage_implements_the_stage_interface():
  stages = [stage for domain in domains.all_domains().values() for stage in domain.stages]
  assert len(stages) >= 8
  for stage in stages:
    assert issubclass(stage, Stage) and not inspect.isabstract(stage), stage


def _config_files():
  configs = os.path.join(ROOT, "configs")
  return sorted(os.path.relpath(path, configs) for path in _modules(configs)
                if os.path.dirname(path) != configs)


@pytest.mark.parametrize("name", _config_files())
def test_every_config_loads_at_both_sizes_and_names_a_stage(name):
  path = os.path.join(ROOT, "configs", name)
  arg = "prior=maskgit" if "image/prior" in name or "image/direct" in name else ""
  full, tiny = (config_lib.load(path, ",".join(filter(None, (arg, t)))) for t in ("", "test"))
  for config in (full, tiny):
    config_lib.validate(config)
    assert issubclass(import_class(config.stage, Stage), Stage)
  assert tiny.num_steps < full.num_steps and tiny.batch_size <= full.batch_size


def test_no_file_cites_a_file_outside_the_repository():
  outside = "DESIGN" + ".md"  # the sketch beside the repository; in two parts, not to match here
  cited = [os.path.relpath(path, ROOT)
           for top in ("regen_jax", "tests", "configs", "experiments")
           for path in _modules(os.path.join(ROOT, top))
           if outside in open(path).read()]
  assert not cited
