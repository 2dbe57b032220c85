"""The image domain's one table: every route against the pixel flow, at equal FLOPs, over seeds.

  python experiments/regen_vs_direct.py --domain image|image_givt|image_vq|image_fsq --seeds 3 \
      --out OUT
  python experiments/image_table.py OUT [--seeds 3] [--steps 8,16,32] [--guidance 1,3]
      [--per-class 100] [--json FILE]

Reads the runs that the harness trained under OUT (one `--out` for the four image domains, so
they share the classifier, the pixel-flow baseline and the discrete routes' pixel twin) and
scores, for each seed, the regen stage trained with stage 1 amortised (the harness's budget B =
the pixel flow's training FLOPs) and the baselines trained to B: `per_class` samples per class,
class accuracy and Fréchet distance in the classifier's features on the test split, and the
wall-clock of sampling them. The flow priors
(KL latents and pixels) are scored at every sampler setting (steps × guidance, Euler); the
other priors at their config's. Also each prior's parameters and training-step time (seed 0).
Prints a markdown table of mean ± sample std over seeds and writes the JSON (default
OUT/image_table.json).
"""

import argparse
import json
import os
import platform
import sys

import jax
import numpy as np

EXPERIMENTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(EXPERIMENTS))

import image_flow_sweep  # noqa: E402  (beside this script)
import regen_vs_direct  # noqa: E402
from regen_jax import domains  # noqa: E402
from regen_jax.core import workdir as workdir_lib  # noqa: E402
from regen_jax.domains.image import data  # noqa: E402

ROUTES = {"VQ + MaskGIT": "image_vq", "FSQ + MaskGIT": "image_fsq", "KL + flow": "image",
          "KL + GIVT": "image_givt"}
DIRECT = "pixel flow (direct)"


def systems(out: str, seed: int) -> dict[str, tuple[str, str | None]]:
  """System -> (prior workdir, stage-1 workdir) of one seed, named as the harness names them."""
  base = os.path.join(out, f"seed{seed}", "budget1")
  found = {}
  for system, domain in ROUTES.items():
    comparison = domains.all_domains()[domain].comparison
    found[system] = (os.path.join(base, regen_vs_direct.run_name(comparison.regen) + "_amortised"),
                     os.path.join(base, regen_vs_direct.run_name(comparison.stage1)))
    for name, spec in comparison.baselines:  # a baseline two routes share is listed once
      found[name] = (os.path.join(base, regen_vs_direct.run_name(spec)), None)
  direct = domains.all_domains()["image"].comparison.direct  # the same for every route
  found[DIRECT] = (os.path.join(base, regen_vs_direct.run_name(direct)), None)
  return found


def settings(config, steps: list[int], guidance: list[float]) -> list[dict]:
  """The sampler settings to score: the grid for a flow prior, the config's own otherwise."""
  if "guidance" not in config.sampling:
    return [{}]
  return [{"steps": s, "guidance": g, "solver": "euler"} for s in steps for g in guidance]


def score_seed(out: str, seed: int, args, real) -> list[dict]:
  rows = []
  for system, (workdir, stage1) in systems(out, seed).items():
    config = image_flow_sweep.prior_config(workdir, stage1,
                                           os.path.join(out, "references", "classifier"))
    for setting in settings(config, args.steps, args.guidance):
      config.sampling.update(setting)
      row = {"system": system, "seed": seed, **setting,
             **image_flow_sweep.scores(config, workdir, args.per_class, real)}
      print(json.dumps(row), flush=True)
      rows.append(row)
  return rows


def costs(out: str) -> dict[str, dict]:
  """Parameters and training-step seconds of each prior (seed 0's runs)."""
  found = {}
  for system, (workdir, stage1) in systems(out, 0).items():
    config = image_flow_sweep.prior_config(workdir, stage1,
                                           os.path.join(out, "references", "classifier"))
    count, seconds = image_flow_sweep.parameters_and_step_seconds(config, workdir)
    found[system] = {"parameters": count, "train_step_seconds": round(seconds, 4)}
  return found


def summarize(rows: list[dict]) -> list[dict]:
  """Mean ± sample std over seeds per system and sampler setting."""
  groups = {}
  for row in rows:
    key = (row["system"], row.get("steps"), row.get("guidance"))
    groups.setdefault(key, []).append(row)
  table = []
  for (system, steps, guidance), group in groups.items():
    entry = {"system": system, "steps": steps, "guidance": guidance, "seeds": len(group)}
    for metric in ("sample_accuracy", "frechet_distance", "sampling_seconds"):
      values = [r[metric] for r in group]
      entry[metric] = float(np.mean(values))
      entry[metric + "_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else None
    table.append(entry)
  return table


def markdown(table: list[dict], costs_: dict, images: int) -> str:
  def cell(entry, metric, digits):
    spread = entry[metric + "_std"]
    return f"{entry[metric]:.{digits}f}" + ("" if spread is None else f" ± {spread:.{digits}f}")

  lines = [f"| system | sampler | accuracy ↑ | Fréchet ↓ | sampling {images} images (s) "
           "| parameters | train step (s) |", "|---|---|---|---|---|---|---|"]
  for entry in table:
    sampler = ("config's" if entry["steps"] is None
               else f"Euler {entry['steps']}, guidance {entry['guidance']:g}")
    cost = costs_[entry["system"]]
    lines.append(f"| {entry['system']} | {sampler} | {cell(entry, 'sample_accuracy', 3)} | "
                 f"{cell(entry, 'frechet_distance', 2)} | {cell(entry, 'sampling_seconds', 1)} | "
                 f"{cost['parameters'] / 1e6:.3f} M | {cost['train_step_seconds']:.3f} |")
  return "\n".join(lines)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("out", help="the harness's --out for the image domains")
  parser.add_argument("--seeds", type=int, default=3)
  parser.add_argument("--steps", type=lambda s: [int(x) for x in s.split(",")], default="8,16,32")
  parser.add_argument("--guidance", type=lambda s: [float(x) for x in s.split(",")],
                      default="1,3")
  parser.add_argument("--per-class", type=int, default=100)
  parser.add_argument("--json", default=None, help="default OUT/image_table.json")
  args = parser.parse_args(argv)
  config = workdir_lib.require_saved_config(systems(args.out, 0)[DIRECT][0])
  real = data.load(config.dataset, "test", config.data_dir)["image"]
  rows = [row for seed in range(args.seeds) for row in score_seed(args.out, seed, args, real)]
  table, costs_ = summarize(rows), costs(args.out)
  summary = {"command": "python experiments/image_table.py " + " ".join(
                 argv if argv is not None else sys.argv[1:]),
             "device": f"{jax.devices()[0].device_kind} x{jax.device_count()} "
                       f"({platform.machine()}, {os.cpu_count()} cores)",
             "jax": jax.__version__, "split": "test", "costs": costs_, "table": table,
             "runs": rows}
  with open(args.json or os.path.join(args.out, "image_table.json"), "w") as f:
    json.dump(summary, f, indent=2)
  print(markdown(table, costs_, rows[0]["images"]))


if __name__ == "__main__":
  main()
