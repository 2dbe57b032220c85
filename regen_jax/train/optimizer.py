"""optax optimizer and learning-rate schedule from `config.optimizer`."""

import optax


def learning_rate(config) -> optax.Schedule:
  opt = config.optimizer
  warmup = min(opt.warmup_steps, config.num_steps)
  decay_steps = max(config.num_steps - warmup, 1)
  schedules = {
      "cosine": optax.cosine_decay_schedule(opt.learning_rate, decay_steps, alpha=opt.final_lr_fraction),
      "constant": optax.constant_schedule(opt.learning_rate),
  }
  return optax.join_schedules([optax.linear_schedule(0.0, opt.learning_rate, warmup),
                               schedules[opt.schedule]], [warmup])


def make(config) -> optax.GradientTransformation:
  opt = config.optimizer
  return optax.chain(
      optax.clip_by_global_norm(opt.grad_clip_norm),
      optax.adamw(learning_rate(config), b1=opt.b1, b2=opt.b2, weight_decay=opt.weight_decay),
  )
