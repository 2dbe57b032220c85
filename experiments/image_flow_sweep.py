"""The flow priors of `make demo` at other sampler settings: regen (KL latents) vs direct (pixels).

  python experiments/image_flow_sweep.py runs/demo [--steps 8,16,32] [--guidance 1,3]
      [--solver euler] [--per-class 100]

For each trained flow prior (DIR/flow over DIR/autoencoder, DIR/pixel_flow) and each setting:
`per_class` samples per class scored by DIR/classifier (class accuracy, Fréchet distance to the
test split), and the wall-clock of sampling them (after one compiling call). Also the training
step time of each denoiser (its config's batch, after two compiling steps) and its parameter
count. Prints JSON and writes
DIR/flow_sweep.json.
"""

import argparse
import json
import os
import platform
import sys
import time

import jax

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from regen_jax.core import loop, optimizer  # noqa: E402  (after the path insert)
from regen_jax.core import state as state_lib  # noqa: E402
from regen_jax.core import workdir as workdir_lib  # noqa: E402
from regen_jax.domains.image import data  # noqa: E402

PRIORS = {"regen (KL latents)": ("flow", "autoencoder"), "direct (pixels)": ("pixel_flow", None)}
_TIMED_STEPS = 20


def prior_config(workdir: str, stage1: str | None, classifier: str):
  """A trained prior's saved config, linked to the stage 1 and classifier workdirs given."""
  config = workdir_lib.require_saved_config(workdir, os.path.basename(workdir))
  if stage1:
    config.stage1.workdir = stage1
  config.classifier.workdir = classifier
  return config


def parameters_and_step_seconds(config, workdir: str) -> tuple[int, float]:
  """(trainable parameters of the prior, seconds per training step at its config's batch)."""
  restored = loop.restore_for_inference(config, workdir)
  stage, tx = restored.stage, optimizer.make(config)
  batch = {k: v[:config.batch_size] for k, v in stage.train_arrays.items()}
  state = jax.jit(lambda: state_lib.create(restored.params, restored.model_state, tx,
                                           ema=False))()
  step = jax.jit(lambda s, b, r: state_lib.train_step(s, b, r, loss_fn=stage.loss, tx=tx,
                                                      ema_decay=0.0), donate_argnums=(0,))
  for i in range(2 + _TIMED_STEPS):
    if i == 2:
      jax.block_until_ready(state)
      start = time.perf_counter()
    state, _ = step(state, batch, jax.random.key(i))
  jax.block_until_ready(state)
  count = sum(x.size for x in jax.tree.leaves(restored.params))
  return count, (time.perf_counter() - start) / _TIMED_STEPS


def scores(config, workdir: str, per_class: int, real) -> dict:
  """Sample scores and sampling wall-clock at `config.sampling`."""
  stage, params, _, _ = loop.restore_for_inference(config, workdir)
  stage.class_samples(params, 1, seed=0)  # compiles the sampler for its batch size
  start = time.perf_counter()
  images, labels = stage.class_samples(params, per_class, seed=1)
  seconds = time.perf_counter() - start
  return {**stage.scorer.scores(images, labels, real), "sampling_seconds": round(seconds, 2),
          "images": len(images)}


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("runs")
  parser.add_argument("--steps", default="8,16,32")
  parser.add_argument("--guidance", default="1,3")
  parser.add_argument("--solver", default="euler")
  parser.add_argument("--per-class", type=int, default=100)
  args = parser.parse_args(argv)
  rows, parameters, step_seconds = [], {}, {}
  for system, (name, stage1) in PRIORS.items():
    workdir = os.path.join(args.runs, name)
    config = prior_config(workdir, stage1 and os.path.join(args.runs, stage1),
                          os.path.join(args.runs, "classifier"))
    real = data.load(config.dataset, "test", config.data_dir)["image"]
    parameters[system], seconds = parameters_and_step_seconds(config, workdir)
    step_seconds[system] = round(seconds, 4)
    for steps in map(int, args.steps.split(",")):
      for guidance in map(float, args.guidance.split(",")):
        config.sampling.update({"steps": steps, "guidance": guidance, "solver": args.solver})
        row = {"system": system, "steps": steps, "guidance": guidance, "solver": args.solver,
               **scores(config, workdir, args.per_class, real)}
        print(json.dumps(row), flush=True)
        rows.append(row)
  summary = {"command": "python experiments/image_flow_sweep.py " + " ".join(
                 argv if argv is not None else sys.argv[1:]),
             "device": f"{jax.devices()[0].device_kind} x{jax.device_count()} "
                       f"({platform.processor() or platform.machine()})",
             "jax": jax.__version__, "split": "test",
             "parameters": parameters, "train_step_seconds": step_seconds, "rows": rows}
  with open(os.path.join(args.runs, "flow_sweep.json"), "w") as f:
    json.dump(summary, f, indent=2)
  print(json.dumps(summary, indent=2))


if __name__ == "__main__":
  main()
