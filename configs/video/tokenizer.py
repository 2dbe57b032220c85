"""Video stage 1 (Y -> Y′ -> Y): a causal (2+1)D tokenizer, 16x32x32 moving Fashion-MNIST clips
-> 4x8x8 FSQ codes (levels 8,5,5,5 = 1000), x4 in time and space.

  python -m regen_jax train --config configs/video/tokenizer.py --workdir runs/video/tokenizer
Arguments: quantizer=fsq|ema (the EMA codebook of 1024 codes instead), full (the 16x64x64
clips -> 4x16x16 codes), paper (a MAGVIT-B-like size: 64-128-256-256
channels, 16x128x128 clips -> 4x16x16 codes, bf16), test (tiny: seconds on a CPU).
"""

import ml_collections

from regen_jax.core import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg, quantizer="fsq", full=False, paper=False)
  config = config_lib.base()
  config.stage = "regen_jax.domains.video.tokenizer:VideoTokenizer"
  config.dataset = "regen_moving_fashion/full" if args.full else "regen_moving_fashion/small"
  config.num_steps = 400  # ≈ 5.7 min on 2 CPU cores
  config.batch_size = 16
  config.eval_batch_size = 100
  config.eval_every = 400
  config.optimizer.learning_rate = 2e-3
  config.input = ml_collections.ConfigDict({"workers": 1})  # grain processes reading clips

  config.model = ml_collections.ConfigDict()
  config.model.channels = (16, 32, 64)  # each extra entry halves space
  config.model.time_downsamplings = 2  # the first this many halve time too
  config.model.code_dim = 4  # of each token
  config.model.tokens_per_position = 1  # tokens of one grid position, each quantized alone

  config.vq = ml_collections.ConfigDict()
  config.vq.quantizer = args.quantizer
  config.vq.fsq_levels = (8, 5, 5, 5)  # fsq: model.code_dim must be len(fsq_levels)
  config.vq.codebook_size = 1024  # ema
  config.vq.commitment_cost = 0.25  # ema
  config.vq.ema_decay = 0.99
  config.vq.dead_code_threshold = 1.0
  config.vq.kmeans_iterations = 10

  if args.paper:
    config.update_from_flattened_dict({
        "dataset": "regen_moving_fashion/paper", "batch_size": 64, "num_steps": 300_000,
        "optimizer.learning_rate": 1e-4, "model.channels": (64, 128, 256, 256),
        "model.time_downsamplings": 2,
        "vq.fsq_levels": (8, 8, 8, 5, 5, 5), "compute_dtype": "bfloat16", "input.workers": 8})
  if args.test:
    config.update_from_flattened_dict({
        **config_lib.TINY_LOOP, "dataset": "regen_moving_fashion/tiny",
        "model.channels": (8, 8, 16), "vq.fsq_levels": (5, 3, 3), "vq.codebook_size": 32,
        "input.workers": 0})
  if args.quantizer == "fsq":
    config.model.code_dim = len(config.vq.fsq_levels)
  else:
    config.model.code_dim = 16
  return config
