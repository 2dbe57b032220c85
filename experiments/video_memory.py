"""Peak host memory of training the 64x64 video tokenizer (configs/video/tokenizer.py:full, 16x64x64
clips -> 4x16x16 codes) at batch 8 on CPU: the peak resident set of the training process.

  python experiments/video_memory.py [--batch 8] [--steps 20] [--out FILE]
builds `regen_moving_fashion/full` if absent (≈ 40 s), trains --steps steps in a subprocess with
the clips read in that process (input.workers=0, so its peak holds the input pipeline too),
evaluates on 100 validation clips, and prints JSON: command, device, peak_rss_gib, seconds.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batch", type=int, default=8)
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--out", help="also write the JSON here")
  args = parser.parse_args(argv)
  with tempfile.TemporaryDirectory() as workdir:
    command = [sys.executable, "-m", "regen_jax", "train", "--config",
               os.path.join(ROOT, "configs", "video", "tokenizer.py:full"), "--workdir", workdir,
               f"--config.batch_size={args.batch}", f"--config.num_steps={args.steps}",
               f"--config.eval_every={args.steps}", "--config.num_eval_examples=100",
               "--config.input.workers=0"]
    start = time.time()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    seconds = time.time() - start
  peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: KiB
  import jax  # after the run: this process's own memory is not what is measured
  record = {"command": " ".join(["python", "experiments/video_memory.py", *(argv or sys.argv[1:])]),
            "device": f"{jax.devices()[0].device_kind} ({platform.processor() or platform.machine()})",
            "config": "video/tokenizer.py:full", "clip_shape": [16, 64, 64, 1],
            "batch": args.batch, "steps": args.steps,
            "peak_rss_gib": round(peak_kib / 2 ** 20, 3), "seconds": round(seconds, 1)}
  print(json.dumps(record))
  if args.out:
    with open(args.out, "w") as f:
      json.dump(record, f, indent=1)


if __name__ == "__main__":
  main()
