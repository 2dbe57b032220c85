"""The evaluation clip classifier (not a generation stage): scores generated clips.

  python -m regen_jax train --config configs/video/classifier.py --workdir runs/video/classifier
Arguments: full (16x64x64 clips), test (tiny).
"""

import ml_collections

from regen_jax.core import config as config_lib


def get_config(arg=None):
  args = config_lib.parse_arg(arg, full=False)
  config = config_lib.base()
  config.stage = "regen_jax.domains.video.classifier:Classifier"
  config.dataset = "regen_moving_fashion/full" if args.full else "regen_moving_fashion/small"
  config.num_steps = 600  # ≈ 2.3 min on 2 CPU cores
  config.eval_every = 600
  config.batch_size = 32
  config.eval_batch_size = 100
  config.optimizer.learning_rate = 2e-3
  config.input = ml_collections.ConfigDict({"workers": 1})
  config.model = ml_collections.ConfigDict()
  config.model.channels = (32, 64, 64)  # a (2+1)D conv, then 2x2x2 max-pool, per entry
  config.model.feature_dim = 128
  config.model.frame_stride = 4  # it sees frames 0, 4, 8, 12

  if args.test:
    config.update_from_flattened_dict({
        **config_lib.TINY_LOOP, "dataset": "regen_moving_fashion/tiny", "model.channels": (8, 16),
        "model.feature_dim": 16, "input.workers": 0})
  return config
