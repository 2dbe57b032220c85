"""Metrics out of the loop: `metrics.jsonl`, TensorBoard events, and a progress line on stdout."""

import json
import os
import time

import jax
import numpy as np


class MetricsWriter:
  """Writes on process 0 only; every other process is silent."""

  def __init__(self, workdir: str, total_steps: int):
    self._active = jax.process_index() == 0
    self._total = total_steps
    self._last = None  # (time, step) of the previous progress line
    if self._active:
      from tensorboardX import SummaryWriter  # pure-Python event writer, no TensorFlow
      self._jsonl = open(os.path.join(workdir, "metrics.jsonl"), "a")
      self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"))

  def write(self, step: int, metrics: dict, prefix: str = ""):
    if not self._active:
      return
    scalars = {prefix + k: float(np.asarray(v)) for k, v in metrics.items()}
    self._jsonl.write(json.dumps({"step": step, **scalars}) + "\n")
    self._jsonl.flush()
    for key, value in scalars.items():
      self._tb.add_scalar(key, value, step)
    self._tb.flush()

  def progress(self, step: int, metrics: dict):
    """Prints `step, loss, steps/s, ETA` (rates measured since the previous progress line)."""
    now = time.time()
    if self._active and self._last is not None and step > self._last[1]:
      rate = (step - self._last[1]) / (now - self._last[0])
      eta = (self._total - step) / rate
      shown = " ".join(f"{k}={float(v):.4g}" for k, v in sorted(metrics.items()))
      print(f"step {step}/{self._total} {shown} | {rate:.2f} steps/s, ETA {eta / 60:.1f} min",
            flush=True)
    self._last = (now, step)

  def close(self):
    if self._active:
      self._jsonl.close()
      self._tb.close()
