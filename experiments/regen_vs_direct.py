"""The paper's claim, measured: X -> Y' -> Y against direct X -> Y under an equal training budget.

  python experiments/regen_vs_direct.py --domain image|tts|asr [--seeds 3] [--budgets 0.5,1]
      [--out DIR] [--test]

For one registered domain (`regen_jax.domains.all_domains()`, each domain's `Comparison`), for
each seed and budget: trains the direct baseline, stage 1 (trained on Y alone) and the regen
stage X -> Y' with the CLI, evaluates both systems on held-out data with the domain's metric,
and writes DIR/DOMAIN.json, DIR/DOMAIN.md (mean ± std over seeds) and
DIR/DOMAIN_quality_vs_budget.png. Prints the summary as JSON. Workdirs link by name: a config's
nested `stage1` (or a reference's name, e.g. `classifier`) gets `--config.<name>.workdir`.

Budget = training FLOPs: XLA's HLO cost analysis of each stage's train step (forward, backward,
optimizer; `loop.training_flops`) times its steps, per loss phase. A budget fraction f gives the
direct baseline f x its config's steps; that run's FLOPs are the budget B. Stage 1 trains for
f x its config's steps (cost C1). The regen stage X -> Y' then gets
  - "stage 1 amortised": B (stage 1 is trained once on Y alone and reused, so it is not charged);
  - "stage 1 charged":   B - C1 (skipped, and reported so, when C1 >= B).
A comparison's further baselines (e.g. the discrete image routes' pixel twin) each train for
B / (their FLOPs per step) steps. Evaluation helpers (the image classifier) are trained once
and charged to neither side.
`--test` uses every config's tiny `:test` variant, one seed (`make test` runs it for image,
`make test-slow` for the others).
Workdirs that already hold their evaluation are reused, so an interrupted run continues. Each run's
directory is named by its config (`run_name`): comparisons that share a baseline, e.g. the image
routes against pixel flow, train it once when given the same `--out`.
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time

import jax
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from regen_jax import domains  # noqa: E402  (after the path insert: runs from a checkout)
from regen_jax.core import config as config_lib  # noqa: E402
from regen_jax.core import loop  # noqa: E402
from regen_jax.stages.registry import Comparison, StageConfig  # noqa: E402

SYSTEMS = ("regen (stage 1 amortised)", "regen (stage 1 charged)", "direct")


def load_config(spec: StageConfig, test: bool, overrides: dict):
  """The stage's ConfigDict as the CLI would build it with `--config.KEY=VALUE` overrides."""
  path, _, arg = spec.config_arg(test).partition(":")
  config = config_lib.load(os.path.join(ROOT, "configs", path), arg)
  config.update_from_flattened_dict(overrides)
  return config


def run_name(spec: StageConfig) -> str:
  """A run's directory, named by its config: "image/prior.py:prior=maskgit" ->
  image_prior_prior=maskgit."""
  return re.sub(r"[^A-Za-z0-9=]+", "_", spec.config.replace(".py", ""))


def run_cli(command: str, spec, test: bool, workdir: str, overrides: dict):
  args = [sys.executable, "-m", "regen_jax", command, "--config",
          os.path.join(ROOT, "configs", spec.config_arg(test)), "--workdir", workdir,
          *(f"--config.{k}={v}" for k, v in overrides.items())]
  result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
  if result.returncode:
    raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")


class Harness:
  """One domain's runs under `out`, trained and evaluated through the CLI."""

  def __init__(self, domain: Comparison, out: str, test: bool):
    self.domain, self.out, self.test = domain, out, test
    # The stage each named run trains: a config links to a run by name and stage.
    self.stages = {name: load_config(spec, test, {}).stage
                   for name, spec in (("stage1", domain.stage1), *domain.references)}

  def _overrides(self, spec, workdirs: dict, seed: int, steps: int | None = None) -> dict:
    """The seed, the workdirs of the runs the config links to (a nested config of a run's name
    and stage), and steps with the keys scaled with them (the learning-rate warm-up always: a
    fixed one would eat most of a short run)."""
    default = load_config(spec, self.test, {})
    overrides = {"seed": seed, **{f"{name}.workdir": workdir for name, workdir in workdirs.items()
                                  if default.get(name, {}).get("stage") == self.stages[name]}}
    if steps is not None:
      overrides["num_steps"] = steps
      for key in ("optimizer.warmup_steps", *spec.scaled_keys):
        value = default
        for part in key.split("."):
          value = value[part]
        overrides[key] = max(1, round(value * steps / default.num_steps))
    return overrides

  def default_steps(self, spec) -> int:
    return load_config(spec, self.test, {}).num_steps

  def flops(self, spec, overrides: dict) -> dict:
    return loop.training_flops(load_config(spec, self.test, overrides))

  def train(self, spec, workdir: str, overrides: dict):
    run_cli("train", spec, self.test, workdir, overrides)  # resumes, or returns when done

  def evaluate(self, spec, workdir: str, overrides: dict, key: str) -> float:
    path = os.path.join(workdir, f"eval_{self.domain.eval_split}.json")
    if not os.path.exists(path):
      run_cli("evaluate", spec, self.test, workdir,
              dict(overrides, eval_split=self.domain.eval_split))
    with open(path) as f:
      return float(json.load(f)[key])

  def references(self) -> dict[str, str]:
    """Workdirs of the evaluation helpers, trained once (seed 0, default steps)."""
    workdirs = {}
    for name, spec in self.domain.references:
      workdirs[name] = os.path.join(self.out, "references", name)
      self.train(spec, workdirs[name], {"seed": 0})
    return workdirs

  def run(self, seed: int, fraction: float, workdirs: dict) -> list[dict]:
    """The three systems at one seed and budget fraction: result rows."""
    domain, base = self.domain, os.path.join(self.out, f"seed{seed}", f"budget{fraction:g}")
    workdirs = dict(workdirs, stage1=os.path.join(base, run_name(domain.stage1)))
    rows = []

    def record(system, spec, name, steps, spent, metric_key, stage1_flops=0.0):
      workdir = os.path.join(base, name)
      overrides = self._overrides(spec, workdirs, seed, steps)
      started = time.time()
      self.train(spec, workdir, overrides)
      value = self.evaluate(spec, workdir, overrides, metric_key)
      rows.append({"system": system, "seed": seed, "budget_fraction": fraction,
                   "budget_flops": budget, "metric": value, "steps": steps,
                   "stage_flops": spent, "stage1_flops": stage1_flops,
                   "seconds": first_wall_seconds(workdir, time.time() - started)})

    direct_steps = max(1, round(fraction * self.default_steps(domain.direct)))
    budget = self.flops(domain.direct, self._overrides(domain.direct, workdirs, seed,
                                                       direct_steps))["total"]
    record("direct", domain.direct, run_name(domain.direct), direct_steps, budget,
           domain.metric[1])

    stage1_steps = max(1, round(fraction * self.default_steps(domain.stage1)))
    stage1_overrides = self._overrides(domain.stage1, workdirs, seed, stage1_steps)
    stage1_flops = self.flops(domain.stage1, stage1_overrides)["total"]
    self.train(domain.stage1, workdirs["stage1"], stage1_overrides)

    per_step = self.flops(domain.regen, self._overrides(domain.regen, workdirs, seed))["per_step"]
    regen = run_name(domain.regen)
    for system, name, allowed in ((SYSTEMS[0], f"{regen}_amortised", budget),
                                  (SYSTEMS[1], f"{regen}_charged", budget - stage1_flops)):
      steps = int(allowed // per_step)
      if steps < 1:
        rows.append({"system": system, "seed": seed, "budget_fraction": fraction,
                     "budget_flops": budget, "metric": None, "stage1_flops": stage1_flops,
                     "skipped": "stage 1 alone costs the whole budget"})
        continue
      record(system, domain.regen, name, steps, steps * per_step, domain.metric[0], stage1_flops)

    for system, spec in domain.baselines:
      per_step = self.flops(spec, self._overrides(spec, workdirs, seed))["per_step"]
      steps = max(1, int(budget // per_step))
      record(system, spec, run_name(spec), steps, steps * per_step, domain.metric[1])
    return rows


def first_wall_seconds(workdir: str, seconds: float) -> float:
  """Wall seconds of a system's training + evaluation as first completed: a rerun that reuses
  the workdir reports those, not its own few seconds."""
  path = os.path.join(workdir, "harness_wall_seconds.json")
  if not os.path.exists(path):
    with open(path, "w") as f:
      json.dump(round(seconds, 1), f)
  with open(path) as f:
    return json.load(f)


def systems(domain: Comparison) -> tuple[str, ...]:
  return SYSTEMS + tuple(name for name, _ in domain.baselines)


def summarize(rows: list[dict], domain: Comparison) -> list[dict]:
  """Mean ± sample standard deviation over seeds of each system at each budget fraction."""
  table = []
  for fraction in sorted({r["budget_fraction"] for r in rows}):
    for system in systems(domain):
      values = [r["metric"] for r in rows if r["budget_fraction"] == fraction
                and r["system"] == system and r["metric"] is not None]
      budgets = [r["budget_flops"] for r in rows if r["budget_fraction"] == fraction]
      table.append({"budget_fraction": fraction, "budget_flops": float(np.mean(budgets)),
                    "system": system, "seeds": len(values),
                    "mean": float(np.mean(values)) if values else None,
                    "std": float(np.std(values, ddof=1)) if len(values) > 1 else None})
  return table


def write_markdown(path: str, domain: Comparison, table: list[dict], command: str,
                   device: str):
  arrow = "↓" if domain.lower_is_better else "↑"
  lines = [f"{domain.metric_name} {arrow}, mean ± sample std over n seeds.", "",
           f"`{command}` on {device}", "",
           "| budget (× config steps) | training PFLOPs | " + " | ".join(systems(domain)) + " |",
           "|---|---|" + "---|" * len(systems(domain))]
  for fraction in sorted({r["budget_fraction"] for r in table}):
    cells = {r["system"]: r for r in table if r["budget_fraction"] == fraction}
    flops = cells["direct"]["budget_flops"] / 1e15
    lines.append(f"| {fraction:g} | {flops:.3g} | "
                 + " | ".join(_cell(cells[system]) for system in systems(domain)) + " |")
  with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")


def _cell(row: dict) -> str:
  if row["mean"] is None:
    return "—"
  spread = "" if row["std"] is None else f" ± {row['std']:.3f}"
  return f"{row['mean']:.3f}{spread} (n={row['seeds']})"


def plot(path: str, domain: Comparison, table: list[dict]):
  import matplotlib
  matplotlib.use("Agg")  # no display
  import matplotlib.pyplot as plt
  figure, axis = plt.subplots(figsize=(6, 4))
  for system in systems(domain):
    points = [r for r in table if r["system"] == system and r["mean"] is not None]
    axis.errorbar([r["budget_flops"] for r in points], [r["mean"] for r in points],
                  yerr=[r["std"] or 0.0 for r in points], marker="o", capsize=3, label=system)
  axis.set_xscale("log")
  axis.set_xlabel("training budget (FLOPs, XLA cost analysis)")
  axis.set_ylabel(domain.metric_name, fontsize=8)
  axis.legend(fontsize=8)
  figure.tight_layout()
  figure.savefig(path, dpi=120)
  plt.close(figure)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--domain", required=True, choices=sorted(domains.all_domains()))
  parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
  parser.add_argument("--budgets", default="1", help="comma-separated fractions of the direct "
                      "config's steps, e.g. 0.25,0.5,1")
  parser.add_argument("--out", default=None, help="default runs/regen_vs_direct/DOMAIN[_test]")
  parser.add_argument("--test", action="store_true", help="tiny :test configs (seconds each)")
  args = parser.parse_args(argv)
  domain = domains.all_domains()[args.domain].comparison
  out = args.out or os.path.join(ROOT, "runs", "regen_vs_direct",
                                 args.domain + ("_test" if args.test else ""))
  os.makedirs(out, exist_ok=True)
  harness = Harness(domain, out, args.test)
  references = harness.references()
  rows = []
  for seed in range(args.seeds):
    for fraction in (float(b) for b in args.budgets.split(",")):
      rows += harness.run(seed, fraction, references)
      print(json.dumps(rows[-len(systems(domain)):]), flush=True)
  table = summarize(rows, domain)
  command = "python experiments/regen_vs_direct.py " + " ".join(sys.argv[1:] if argv is None
                                                                 else argv)
  device = f"{jax.devices()[0].device_kind} ({platform.machine()}, {os.cpu_count()} cores)"
  summary = {"command": command, "device": device, "jax": jax.__version__,
             "domain": args.domain, "metric": domain.metric_name,
             "lower_is_better": domain.lower_is_better, "table": table, "runs": rows}
  prefix = os.path.join(out, args.domain)
  with open(prefix + ".json", "w") as f:
    json.dump(summary, f, indent=2)
  write_markdown(prefix + ".md", domain, table, command, device)
  plot(prefix + "_quality_vs_budget.png", domain, table)
  print(json.dumps({k: summary[k] for k in ("command", "device", "jax", "domain", "table")},
                   indent=2))


if __name__ == "__main__":
  main()
