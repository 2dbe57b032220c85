"""Speed of every stage on this machine: train steps, input pipeline, sampling, transformer MFU.

  python experiments/benchmark.py [--configs image/direct.py,asr/p2g.py] [--steps 20]
      [--dtype bfloat16] [--override batch_size=256 ...] [--measure train,pipeline,sampling,mfu]
      [--tokenizer_workdir DIR] [--sample_batch 100] [--mfu_size base] [--mfu_batch 32]
      [--peak_tflops 989] [--profile DIR] [--out FILE] [--test]

Prints one JSON object per measurement; `--out FILE` also writes them all as one JSON list
(rewritten after each measurement, so an interrupted run keeps what it had measured). Every
record holds `command`, `device`, `jax`, `config`, `batch` (global), `dtype` and its numbers.

  train     for each stage config and each of its loss phases (`Stage.phase`): seconds to lower
            and to compile the loop's jitted train step, the median of --steps step times (after
            2 warm-up steps, each step waited for), examples/s, FLOPs per step by XLA's cost
            analysis, achieved TFLOP/s and MFU.
  pipeline  for the same steps: seconds per step dispatched as the loop dispatches them (waiting
            every loop.SYNC_EVERY steps and at the end), fed by the grain pipeline
            (`Stage.train_batches` + `sharding.global_batch` each step) and by one
            device-resident batch, each the median of PIPELINE_ROUNDS alternating runs;
            overhead_percent = (pipeline - resident) / resident * 100.
  sampling  samples/s of the token priors (AR with a KV cache, MaskGIT) and the vocoder's
            speed as a multiple of real time, all with untrained (random-init) parameters.
  mfu       the token priors' TokenTransformer alone at --mfu_size on synthetic tokens:
            next-token cross-entropy, the project's optimizer and train step, donated state.

MFU = flops_per_step / step_seconds / (peak_tflops * 1e12). The peak is --peak_tflops, else
989 (dense bf16 tensor cores of an H100 SXM or H200) on those GPUs, else unknown: MFU is null.
`--test` runs every config's `:test` variant with 2 steps, tiny batches and the tiny MFU model.
"""

import argparse
import ast
import contextlib
import functools
import itertools
import json
import os
import shlex
import sys
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# After the path insert: runs from a checkout.
from regen_jax.core import config as config_lib  # noqa: E402
from regen_jax.core import loop, optimizer, sharding  # noqa: E402
from regen_jax.core import state as state_lib  # noqa: E402
from regen_jax.domains.speech.vocoder import Vocoder  # noqa: E402
from regen_jax.errors import UserError  # noqa: E402
from regen_jax.nn.transformer import TokenTransformer  # noqa: E402
from regen_jax.priors.conditions import ClassLabel  # noqa: E402
from regen_jax.priors.tokens import TokenPrior  # noqa: E402
from regen_jax.stages import base as stage_lib  # noqa: E402

MEASUREMENTS = ("train", "pipeline", "sampling", "mfu")
CONFIGS_DIR = os.path.join(ROOT, "configs")
DEFAULT_CONFIGS = ("image/tokenizer.py", "image/direct.py", "image/classifier.py",
                   "tts/acoustic.py", "tts/vocoder.py", "tts/direct.py", "asr/recognizer.py",
                   "asr/direct.py", "asr/p2g.py")
PRIOR_CONFIGS = ("image/direct.py", "image/prior.py")  # without prior=: both priors
SAMPLING_STAGES = (TokenPrior, Vocoder)
WARMUP_STEPS = 2
PROFILED_STEPS = 3
PIPELINE_ROUNDS = 3  # resident and pipeline runs alternate: drift hits both alike
RANDOM_PARAMS = "this stage's parameters are random init (untrained): speed only"
# An H100 SXM's (and H200's) dense bf16 tensor-core peak, TFLOP/s (NVIDIA's datasheet).
HOPPER_BF16_TFLOPS = 989.0
# base: GPT-2-small / ViT-B widths (86 M matmul parameters), over a 32x32 grid of codes (1024
# tokens: a 256 px image at downsampling 8) of a 1024-entry codebook (MaskGIT's VQGAN): a
# prior big enough for its matmuls to fill an H100 at batch 32 (32 k tokens a step), small
# enough to keep float32 parameters and Adam moments in a few GB.
MFU_PRESETS = {
    "base": {"depth": 12, "width": 768, "num_heads": 12, "tokens": 1024, "vocab_size": 1024},
    "tiny": {"depth": 2, "width": 64, "num_heads": 2, "tokens": 64, "vocab_size": 64},
}
MFU_CLASSES = 10


def parse_args(argv=None) -> argparse.Namespace:
  parser = argparse.ArgumentParser(
      description=__doc__.split("\n\n")[0],
      epilog="Records and the MFU formula: see the module docstring and README.md, Benchmarks.")
  parser.add_argument("--configs",
                      help="comma list of configs/ files[:arg]; image/direct.py and "
                           "image/prior.py without prior= mean both priors (default: every "
                           "stage; image/prior.py too with --tokenizer_workdir)")
  parser.add_argument("--tokenizer_workdir", default="",
                      help="a trained configs/image/tokenizer.py workdir: adds image/prior.py")
  parser.add_argument("--measure", default=",".join(MEASUREMENTS),
                      help=f"comma list of {', '.join(MEASUREMENTS)} (default: all)")
  parser.add_argument("--steps", type=int, help="timed steps per measurement (default 20)")
  parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"),
                      help="compute dtype of every stage (config.compute_dtype) and of the MFU "
                           "model; parameters stay float32")
  parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                      help="set a config key of every stage, e.g. batch_size=256 (repeatable)")
  parser.add_argument("--sample_batch", type=int,
                      help="sampling batch (default: config.sampling.batch_size for the priors, "
                           "config.eval_batch_size for the vocoder)")
  parser.add_argument("--sample_repeats", type=int, help="timed sampling calls (default 5)")
  parser.add_argument("--mfu_size", choices=sorted(MFU_PRESETS), help="default: base")
  parser.add_argument("--mfu_batch", type=int, help="default: 32 on accelerators, 2 on CPU")
  parser.add_argument("--peak_tflops", type=float,
                      help="peak TFLOP/s of one device for MFU (0: unknown, MFU null)")
  parser.add_argument("--profile", metavar="DIR",
                      help=f"trace {PROFILED_STEPS} MFU steps with jax.profiler.trace(DIR)")
  parser.add_argument("--out", metavar="FILE", help="also write every record as one JSON list")
  parser.add_argument("--test", action="store_true",
                      help="tiny: :test configs, 2 steps, tiny batches and MFU model")
  args = parser.parse_args(argv)
  args.measure = [m for m in args.measure.split(",") if m]
  if not args.measure or set(args.measure) - set(MEASUREMENTS):
    parser.error(f"--measure takes a comma list of {', '.join(MEASUREMENTS)}")
  if args.profile and "mfu" not in args.measure:
    parser.error("--profile traces the MFU benchmark: add mfu to --measure")
  _fill_defaults(args)
  if min(args.steps, args.sample_repeats, args.mfu_batch, args.sample_batch or 1) < 1:
    parser.error("--steps, --sample_repeats and the batches must be positive")
  return args


def _fill_defaults(args):
  """Defaults of the flags not given, tiny with --test."""
  test = args.test
  args.steps = args.steps or (2 if test else 20)
  args.sample_repeats = args.sample_repeats or (2 if test else 5)
  args.sample_batch = args.sample_batch or (4 if test else None)
  args.mfu_size = args.mfu_size or ("tiny" if test else "base")
  args.mfu_batch = args.mfu_batch or (2 if test or jax.default_backend() == "cpu" else 32)


def config_specs(names: str | None, test: bool, tokenizer_workdir: str) -> list[str]:
  """'image/direct.py,asr/p2g.py:test' -> ['image/direct.py:prior=ar', ...]: config file[:arg]
  specs, an item that names no config file continuing the previous one's arg. None: every
  stage (the regen image prior too when there is a tokenizer)."""
  if names is None:
    names = ",".join(DEFAULT_CONFIGS + (("image/prior.py",) if tokenizer_workdir else ()))
  if not names.strip(","):
    raise UserError("--configs names no config")
  specs = []
  for item in filter(None, names.split(",")):
    if os.path.isfile(os.path.join(CONFIGS_DIR, item.partition(":")[0])):
      specs.append(item)
    elif specs and ":" in specs[-1]:
      specs[-1] += "," + item
    else:
      known = sorted(os.path.relpath(os.path.join(d, n), CONFIGS_DIR)
                     for d, _, names in os.walk(CONFIGS_DIR) for n in names
                     if n.endswith(".py") and d != CONFIGS_DIR)
      raise UserError(f"--configs: {item!r} is not a config file; known: {', '.join(known)}")
  return [_spec(path, arg, test, tokenizer_workdir)
          for path, _, arg in (spec.partition(":") for spec in specs)
          for arg in _prior_args(path, arg)]


def _prior_args(path: str, arg: str) -> list[str]:
  if path not in PRIOR_CONFIGS or "prior=" in arg:
    return [arg]
  return [",".join(filter(None, (f"prior={prior}", arg))) for prior in ("ar", "maskgit")]


def _spec(path: str, arg: str, test: bool, tokenizer_workdir: str) -> str:
  if path == "image/prior.py" and not tokenizer_workdir:
    raise UserError("image/prior.py needs --tokenizer_workdir DIR (a trained "
                    "configs/image/tokenizer.py workdir whose config it matches)")
  if test and "test" not in arg.split(","):
    arg = ",".join(filter(None, (arg, "test")))
  return f"{path}:{arg}" if arg else path


def load_config(spec: str, args):
  """The stage's ConfigDict as `get_config(arg)` builds it, with --dtype and --override set."""
  path, _, arg = spec.partition(":")
  config = config_lib.load(os.path.join(CONFIGS_DIR, path), arg)
  overrides = [f"compute_dtype={args.dtype}", *args.override]
  if path == "image/prior.py":
    overrides.append(f"stage1.workdir={args.tokenizer_workdir}")
  if "sampling" in config and args.sample_batch:
    overrides.append(f"sampling.batch_size={args.sample_batch}")
  for override in overrides:
    _set(config, spec, override)
  if config.batch_size % jax.device_count():
    raise UserError(f"{spec}: batch_size={config.batch_size} is not divisible by "
                    f"{jax.device_count()} devices")
  return config


def _set(config, spec: str, override: str):
  """Sets KEY=VALUE (dotted key, existing keys only; VALUE a Python literal or a string)."""
  key, sep, text = override.partition("=")
  if not sep:
    raise UserError(f"--override {override!r}: expected KEY=VALUE")
  *parents, leaf = key.split(".")
  node = config
  for part in parents:
    node = node.get(part) if hasattr(node, "get") else None
  if not hasattr(node, "get") or leaf not in node:
    raise UserError(f"--override {override!r}: {spec} has no key {key!r}")
  value = text
  if not isinstance(node[leaf], str):
    try:
      value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
      pass
  try:
    node[leaf] = value
  except TypeError as e:
    raise UserError(f"--override {override!r} for {spec}: {e}") from None


def device_name() -> str:
  device = jax.devices()[0]
  return f"{device.device_kind} ({device.platform} x {jax.device_count()})"


def peak(args) -> tuple[float | None, str]:
  """(peak TFLOP/s of one device or None, where it comes from)."""
  if args.peak_tflops is not None:
    return args.peak_tflops or None, "--peak_tflops"
  device = jax.devices()[0]
  kind = device.device_kind
  if device.platform == "gpu" and ("H200" in kind or ("H100" in kind and "HBM3" in kind)):
    return HOPPER_BF16_TFLOPS, (f"dense bf16 tensor-core peak of {kind}; float32 steps use "
                                "slower units, so their MFU reads low")
  return None, f"no peak known for {kind} ({device.platform}): pass --peak_tflops for MFU"


def xla_flops(lowered, compiled) -> tuple[float | None, str]:
  """FLOPs of one call by XLA's cost analysis of the HLO before optimisation (as
  loop.training_flops counts: after optimisation, GPU matmuls are cuBLAS custom calls that XLA
  leaves uncounted), else of the compiled HLO."""
  for source, stage in (("lowered", lowered), ("compiled", compiled)):
    flops = (stage.cost_analysis() or {}).get("flops", 0.0)
    if flops > 0:
      return float(flops), (f"XLA cost analysis of the {source} step: a loop body (lax.scan) "
                            "counts once, a custom call (cuDNN attention) not at all")
  return None, "XLA cost analysis reported no FLOPs"


def compile_step(jitted, *example) -> tuple:
  """(compiled step, {lower and compile seconds, XLA FLOPs per call and their source})."""
  start = time.perf_counter()
  lowered = jitted.lower(*example)
  lowered_at = time.perf_counter()
  compiled = lowered.compile()
  compiled_at = time.perf_counter()
  flops, source = xla_flops(lowered, compiled)
  return compiled, {"lower_seconds": lowered_at - start,
                    "compile_seconds": compiled_at - lowered_at, "flops_per_step": flops,
                    "flops_source": source}


def timed_steps(step, state, batches, rng, count: int):
  """(state after `count` steps, the seconds of each, every step's results waited for)."""
  times = []
  for _ in range(count):
    start = time.perf_counter()
    state, metrics = step(state, next(batches), rng)
    jax.block_until_ready((state, metrics))
    times.append(time.perf_counter() - start)
  return state, times


def loop_seconds(step, state, batches, rng, count: int):
  """(state, mean seconds per step) dispatched as the training loop does: waiting only every
  loop.SYNC_EVERY steps and at the end, so host work overlaps device work."""
  start = time.perf_counter()
  for i in range(count):
    state, metrics = step(state, next(batches), rng)
    if (i + 1) % loop.SYNC_EVERY == 0:
      jax.block_until_ready(metrics)
  jax.block_until_ready((state, metrics))
  return state, (time.perf_counter() - start) / count


def timed_calls(fn, repeats: int) -> tuple[float, float]:
  """(seconds of the first call, compilation included; median seconds of `repeats` more)."""
  times = []
  for i in range(repeats + 1):
    start = time.perf_counter()
    jax.block_until_ready(fn(i))
    times.append(time.perf_counter() - start)
  return times[0], float(np.median(times[1:]))


def init_state(stage, config, mesh, tx):
  """(fresh train state, its shardings, the first training batch on the devices), initialised
  as the loop does: from that batch, for data-dependent initialisations."""
  abstract, init = loop._abstract_state(stage, tx, config)  # pylint: disable=protected-access
  shardings = sharding.tree_shardings(abstract, mesh, config.sharding.rules)
  first = next(stage.train_batches(config.batch_size, config.seed))
  batch = sharding.global_batch(mesh, first)
  state = jax.jit(init, out_shardings=shardings)(jax.random.key(config.seed), batch)
  return state, shardings, batch


def loss_phases(stage, config) -> dict:
  """{loss phase: its first step} over config.num_steps: the steps the loop compiles."""
  firsts = {}
  for step in range(config.num_steps):
    firsts.setdefault(stage.phase(step), step)
  return firsts


class Bench(NamedTuple):
  """A built stage config and what its timed steps share."""
  stage: Any
  config: Any
  mesh: jax.sharding.Mesh
  tx: optax.GradientTransformation
  state_shardings: Any
  batch: dict  # the first training batch, on the devices
  rng: jax.Array


def bench_stage(spec: str, args, emit):
  """Every selected measurement of one stage config."""
  config = load_config(spec, args)
  stepping = bool({"train", "pipeline"} & set(args.measure))
  stage = stage_lib.build(config)
  if not stepping and not isinstance(stage, SAMPLING_STAGES):
    return
  mesh = sharding.make_mesh(config.sharding.fsdp)
  tx = optimizer.make(config)
  state, shardings, batch = init_state(stage, config, mesh, tx)
  header = {"config": spec, "batch": config.batch_size, "dtype": config.compute_dtype}
  if "sampling" in args.measure:
    for record in sampling_speed(stage, config, state.params, args):
      emit({**header, **record})
  if stepping:
    bench = Bench(stage, config, mesh, tx, shardings, batch, jax.random.key(config.seed + 1))
    for phase, first_step in loss_phases(stage, config).items():
      state, records = bench_phase(bench, phase, state, args)
      for record in records:
        emit({**header, "phase": phase, "phase_first_step": first_step, **record})


def bench_phase(bench: Bench, phase, state, args):
  """(state, records): the train-step and input-pipeline measurements of one loss phase."""
  replicated = sharding.replicated(bench.mesh)
  # The loop's own step (a private helper: the benchmark must time exactly what it compiles).
  jitted = loop._jitted_step(bench.stage, phase, bench.tx,  # pylint: disable=protected-access
                             bench.config, (bench.state_shardings, replicated))
  step, compiled = compile_step(jitted, state, bench.batch, bench.rng)
  resident = itertools.repeat(bench.batch)
  state, _ = timed_steps(step, state, resident, bench.rng, WARMUP_STEPS)
  records = []
  if "train" in args.measure:
    state, times = timed_steps(step, state, resident, bench.rng, args.steps)
    records.append({"measurement": "train_step", **compiled,
                    **step_times(times, bench.config.batch_size, "examples_per_second"),
                    **rates(compiled["flops_per_step"], float(np.median(times)), args)})
  if "pipeline" in args.measure:
    state, record = pipeline_overhead(bench, step, state, args.steps)
    records.append(record)
  return state, records


def step_times(times: list[float], per_step: int, rate_key: str) -> dict:
  """Median and fastest of `times`, and `per_step` items over the median as `rate_key`."""
  seconds = float(np.median(times))
  return {"steps_timed": len(times), "step_seconds": seconds, "step_seconds_min": min(times),
          rate_key: per_step / seconds}


def rates(flops: float | None, seconds: float, args) -> dict:
  """Achieved TFLOP/s of `flops` per `seconds`, and MFU against the peak (None where unknown)."""
  peak_tflops, note = peak(args)
  achieved = flops / seconds / 1e12 if flops else None
  return {"achieved_tflops": achieved,
          "mfu": achieved / peak_tflops if achieved and peak_tflops else None,
          "peak_tflops": peak_tflops, "peak_note": note}


def pipeline_overhead(bench: Bench, step, state, count: int):
  """(state, record): loop-style seconds per step fed by the grain pipeline (prefetched to the
  devices as the loop does) and by the resident batch (each the median of PIPELINE_ROUNDS
  alternating runs), and the pipeline's overhead."""
  config = bench.config
  local = bench.stage.train_batches(config.batch_size, config.seed)
  fed = (batch for batch, _ in sharding.prefetch(((b, None) for b in local), bench.mesh,
                                                 config.prefetch))
  state, _ = timed_steps(step, state, fed, bench.rng, 1)  # the iterator's first batch, untimed
  runs = {"resident": [], "pipeline": []}
  for _ in range(PIPELINE_ROUNDS):
    for name, batches in (("resident", itertools.repeat(bench.batch)), ("pipeline", fed)):
      state, seconds = loop_seconds(step, state, batches, bench.rng, count)
      runs[name].append(seconds)
  resident, piped = (float(np.median(runs[name])) for name in ("resident", "pipeline"))
  return state, {"measurement": "input_pipeline", "steps_timed": count,
                 "rounds": PIPELINE_ROUNDS, "resident_step_seconds": resident,
                 "pipeline_step_seconds": piped,
                 "overhead_percent": (piped - resident) / resident * 100,
                 "timing": f"median of {PIPELINE_ROUNDS} alternating runs of {count} steps "
                           "each, dispatched as the loop does"}


def sampling_speed(stage, config, params, args) -> list[dict]:
  """The sampling record of a stage that samples (a token prior, the vocoder); [] for others."""
  if isinstance(stage, TokenPrior):
    return [prior_sampling(stage, config, params, args.sample_repeats)]
  if isinstance(stage, Vocoder):
    return [vocoder_speed(stage, config, params, args)]
  return []


def prior_sampling(stage, config, params, repeats: int) -> dict:
  """Samples/s of `stage.sample_y`: token sampling, stage-1 decoding, copy to the host."""
  size = config.sampling.batch_size
  condition = {k: np.zeros_like(v) for k, v in stage.condition_example(size).items()}
  first, seconds = timed_calls(lambda i: stage.sample_y(params, condition, jax.random.key(i)),
                               repeats)
  how = ("one position per call against a KV cache" if config.prior == "ar"
         else f"{config.sampling.maskgit_steps} parallel decoding steps")
  return {"measurement": "sampling", "batch": size, "sampler": f"{config.prior}: {how}",
          "positions": stage.spec.num_positions, "first_call_seconds": first,
          "repeats": repeats, "seconds_per_batch": seconds, "images_per_second": size / seconds,
          "params": RANDOM_PARAMS}


def vocoder_speed(stage, config, params, args) -> dict:
  """Seconds of audio `stage.vocode` generates per second, from a batch of max_frames mels."""
  mel = stage.mel_config
  size = args.sample_batch or config.eval_batch_size
  mels = jax.random.normal(jax.random.key(0), (size, config.max_frames, mel.n_mels))
  vocode = jax.jit(stage.vocode)
  first, seconds = timed_calls(lambda _: vocode(params, mels), args.sample_repeats)
  audio_seconds = size * config.max_frames * mel.hop_length / mel.sample_rate
  return {"measurement": "vocoder_speed", "batch": size, "mel_frames": config.max_frames,
          "audio_seconds": audio_seconds, "first_call_seconds": first,
          "repeats": args.sample_repeats, "seconds_per_batch": seconds,
          "times_real_time": audio_seconds / seconds, "params": RANDOM_PARAMS}


def next_token_loss(model, params, model_state, batch, rng, step):
  """Class-conditional next-token cross-entropy, in the loss signature of `train_step`."""
  del rng, step
  logits = model.apply({"params": params}, batch["tokens"][:, :-1], {"label": batch["label"]})
  loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch["tokens"]).mean()
  return loss, ({}, model_state)


def transformer_flops(size: dict) -> float:
  """Training FLOPs per sequence by the usual count (PaLM, appendix B): 6 per matmul parameter
  and token, plus 12 * depth * width * tokens per token for attention (causal mask not
  subtracted)."""
  width, depth, tokens = size["width"], size["depth"], size["tokens"]
  matmul_params = depth * 12 * width**2 + width * size["vocab_size"]  # qkv, out, MLP; head
  return float(tokens * (6 * matmul_params + 12 * depth * width * tokens))


def mfu_setup(args, size: dict):
  """(jitted train step with donated state, state, synthetic token batch) of the MFU model."""
  model = TokenTransformer(
      vocab_size=size["vocab_size"], tokens_per_position=1, num_positions=size["tokens"],
      condition=ClassLabel(MFU_CLASSES, size["width"]), width=size["width"], depth=size["depth"],
      num_heads=size["num_heads"], causal=True, dtype=jnp.dtype(args.dtype))
  if args.mfu_batch % jax.device_count():
    raise UserError(f"--mfu_batch {args.mfu_batch} is not divisible by {jax.device_count()} "
                    "devices")
  rng = np.random.default_rng(0)
  mesh = sharding.make_mesh()
  batch = sharding.global_batch(mesh, {
      "tokens": rng.integers(0, size["vocab_size"], (args.mfu_batch, size["tokens"], 1), np.int32),
      "label": rng.integers(0, MFU_CLASSES, (args.mfu_batch,), np.int32)})
  tx = optimizer.make(config_lib.base())
  replicated = sharding.replicated(mesh)

  def init(key, example):
    params = model.init(key, example["tokens"][:, :-1], {"label": example["label"]})["params"]
    return state_lib.create(params, {}, tx, ema=False)

  state = jax.jit(init, out_shardings=replicated)(jax.random.key(0), batch)
  step = jax.jit(functools.partial(state_lib.train_step,
                                   loss_fn=functools.partial(next_token_loss, model), tx=tx,
                                   ema_decay=0.0),
                 donate_argnums=(0,), out_shardings=(replicated, replicated))
  return step, state, batch


def bench_mfu(args, emit):
  """Step time, tokens/s, FLOPs and MFU of the TokenTransformer at --mfu_size."""
  size = MFU_PRESETS[args.mfu_size]
  jitted, state, batch = mfu_setup(args, size)
  parameters = sum(x.size for x in jax.tree.leaves(state.params))
  rng = jax.random.key(1)
  step, compiled = compile_step(jitted, state, batch, rng)
  resident = itertools.repeat(batch)
  state, _ = timed_steps(step, state, resident, rng, WARMUP_STEPS)
  state, times = timed_steps(step, state, resident, rng, args.steps)
  if args.profile:
    with jax.profiler.trace(args.profile):
      timed_steps(step, state, resident, rng, PROFILED_STEPS)
  tokens = args.mfu_batch * size["tokens"]
  timing = step_times(times, tokens, "tokens_per_second")
  analytic = transformer_flops(size) * args.mfu_batch
  emit({"config": f"token_transformer:{args.mfu_size}", "batch": args.mfu_batch,
        "dtype": args.dtype, "measurement": "transformer_mfu",
        "model": {**size, "causal": True, "mlp_ratio": 4, "param_dtype": "float32"},
        "parameters": parameters, "tokens_per_step": tokens, **compiled, **timing,
        **rates(compiled["flops_per_step"], timing["step_seconds"], args),
        "flops_per_step_analytic": analytic,
        "mfu_analytic": rates(analytic, timing["step_seconds"], args)["mfu"],
        "profile_dir": args.profile})


def recorder(out: str | None, stream):
  """emit(record): prints the record, with the command, device and jax version, as one JSON
  line to `stream`, and rewrites `out` with every record so far."""
  common = {"command": shlex.join(sys.orig_argv), "device": device_name(), "jax": jax.__version__}
  records = []

  def emit(record: dict):
    records.append({**common, **record})
    print(json.dumps(records[-1]), file=stream, flush=True)
    if out:
      with open(out, "w") as f:
        json.dump(records, f, indent=1)

  return emit


def run(args):
  specs = config_specs(args.configs, args.test, args.tokenizer_workdir)
  if args.out:
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  emit = recorder(args.out, sys.stdout)
  with contextlib.redirect_stdout(sys.stderr):  # stdout holds the records alone
    if set(args.measure) - {"mfu"}:
      for spec in specs:
        bench_stage(spec, args, emit)
    if "mfu" in args.measure:
      bench_mfu(args, emit)


def main(argv=None):
  args = parse_args(argv)
  try:
    run(args)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
  main()
