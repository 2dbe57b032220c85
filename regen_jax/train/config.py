"""Defaults every experiment config starts from, and the `:arg` syntax of config files."""

import ml_collections

OFFLINE_DATASET = "regen_fashion_mnist/full"
OFFLINE_DATASET_TINY = "regen_fashion_mnist/tiny"


def parse_arg(arg: str | None, **defaults) -> ml_collections.ConfigDict:
  """'prior=maskgit,test' -> {prior: 'maskgit', test: True}; unknown names are an error."""
  values = dict(defaults, test=False)
  for item in filter(None, (arg or "").split(",")):
    key, _, value = item.partition("=")
    if key not in values:
      raise ValueError(f"unknown config argument {key!r}; known: {sorted(values)}")
    values[key] = value if value else True
  return ml_collections.ConfigDict(values)


def base(test: bool) -> ml_collections.ConfigDict:
  """Loop, data and optimizer settings; `test` shrinks everything to seconds on a CPU."""
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.dataset = OFFLINE_DATASET_TINY if test else OFFLINE_DATASET
  config.data_dir = ""  # "" = TFDS's default (~/tensorflow_datasets or $TFDS_DATA_DIR)
  config.train_split = "train"
  config.eval_split = "validation"
  config.batch_size = 16 if test else 128
  config.eval_batch_size = 64 if test else 500
  config.num_eval_examples = 128 if test else 0  # 0 = the whole split
  config.num_steps = 20 if test else 2000
  config.log_every = 5 if test else 50
  config.eval_every = 10 if test else 500
  config.checkpoint_every = 10 if test else 500
  config.keep_checkpoints = 3
  config.compute_dtype = "float32"  # "bfloat16" on accelerators: params and losses stay float32
  config.ema_decay = 0.0  # 0 = no EMA of params

  config.optimizer = ml_collections.ConfigDict()
  config.optimizer.learning_rate = 1e-3
  config.optimizer.warmup_steps = 2 if test else 100
  config.optimizer.schedule = "cosine"  # or "constant"
  config.optimizer.final_lr_fraction = 0.1
  config.optimizer.b1 = 0.9
  config.optimizer.b2 = 0.99
  config.optimizer.weight_decay = 1e-4
  config.optimizer.grad_clip_norm = 1.0
  return config
