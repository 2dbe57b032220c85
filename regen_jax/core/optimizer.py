"""optax optimizers and learning-rate schedules from `config.optimizer` (and `config.optimizers`).

A stage whose params hold several trees that play different roles (a GAN's generator and
discriminators) gives each its own optimizer: `config.optimizers.<tree>` overrides fields of
`config.optimizer` for the top-level param tree `<tree>`. Each tree then has its own schedule,
moments and gradient clipping, all held in the one train state.
"""

import ml_collections
import optax

from regen_jax.errors import UserError


def learning_rate(opt, num_steps: int) -> optax.Schedule:
  warmup = min(opt.warmup_steps, num_steps)
  decay_steps = max(num_steps - warmup, 1)
  schedules = {
      "cosine": optax.cosine_decay_schedule(opt.learning_rate, decay_steps,
                                            alpha=opt.final_lr_fraction),
      "constant": optax.constant_schedule(opt.learning_rate),
  }
  return optax.join_schedules([optax.linear_schedule(0.0, opt.learning_rate, warmup),
                               schedules[opt.schedule]], [warmup])


def _single(opt, num_steps: int) -> optax.GradientTransformation:
  return optax.chain(
      optax.clip_by_global_norm(opt.grad_clip_norm),
      optax.adamw(learning_rate(opt, num_steps), b1=opt.b1, b2=opt.b2,
                  weight_decay=opt.weight_decay),
  )


def _with_overrides(opt, overrides) -> ml_collections.ConfigDict:
  merged = ml_collections.ConfigDict(opt.to_dict())
  merged.update(overrides)
  return merged


def make(config) -> optax.GradientTransformation:
  per_tree = dict(config.get("optimizers") or {})
  default = _single(config.optimizer, config.num_steps)
  if not per_tree:
    return default
  transforms = {name: _single(_with_overrides(config.optimizer, overrides), config.num_steps)
                for name, overrides in per_tree.items()}

  def labels(params):
    unknown = sorted(set(per_tree) - set(params))
    if unknown:
      raise UserError(f"config.optimizers names {unknown}, but this stage's param trees are "
                      f"{sorted(params)}")
    return {tree: ("default" if tree not in per_tree else tree) for tree in params}

  return optax.multi_transform({"default": default, **transforms}, labels)
