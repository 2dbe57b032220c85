"""The domains: one package each, found here without a list to edit.

Each package under `regen_jax/domains/` exports `DOMAINS`, a tuple of
`regen_jax.stages.registry.Domain` (a package may hold several, e.g. speech synthesis and
recognition). The CLI and `experiments/regen_vs_direct.py` read them from `all_domains()`; the
shared core never imports this package.
"""

import functools
import importlib
import pkgutil

from regen_jax.stages.base import SampleFlag
from regen_jax.stages.registry import Domain


@functools.cache
def all_domains() -> dict[str, Domain]:
  found = {}
  for package in pkgutil.iter_modules(__path__):
    for domain in importlib.import_module(f"{__name__}.{package.name}").DOMAINS:
      if domain.name in found:
        raise ValueError(f"two domains are named {domain.name!r}")
      found[domain.name] = domain
  return found


def sample_flags() -> list[SampleFlag]:
  """Every registered stage's `sample` flags, each name once."""
  flags = {}
  for domain in all_domains().values():
    for stage in domain.stages:
      for flag in stage.sample_flags:
        if flags.setdefault(flag.name, flag) != flag:
          raise ValueError(f"two stages declare --{flag.name} differently")
  return list(flags.values())
