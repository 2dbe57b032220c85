"""Stage 2 reads a learned stage 1's Y′ from a cache: encoded once, stored beside stage 1's
checkpoints under its fingerprint, so another checkpoint of stage 1 never reads stale codes."""

import os
from typing import Callable

import numpy as np


def cached_arrays(path: str | None, compute: Callable[[], dict[str, np.ndarray]],
                  what: str) -> dict[str, np.ndarray]:
  """`compute()`, written to `path` (.npz) the first time and read from it afterwards; with no
  `path` (a rule: encoding is cheap), computed every time."""
  if path is None:
    return compute()
  if not os.path.exists(path):
    arrays = compute()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp.npz"  # atomic: concurrent hosts never read a partial file
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    print(f"cached {len(next(iter(arrays.values())))} {what} in {path}", flush=True)
  with np.load(path) as cached:
    return {key: cached[key] for key in cached.files}
