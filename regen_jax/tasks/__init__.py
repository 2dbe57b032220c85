"""Stages as tasks for the shared loop (`regen_jax/train/loop.py`).

A task provides: `train_arrays` / `eval_arrays` (dicts of host arrays), `example_batch(n)`,
`init(rng, batch) -> (params, model_state)`,
`loss(params, model_state, batch, rng, step) -> (loss, (metrics, model_state))`,
`eval_metrics(params, model_state, batch) -> sums over the batch's masked rows`,
`summarize(sums) -> metrics`, `on_eval(params, model_state, step, full=False) -> metrics`
(samples and PNGs), `progress_keys`, and `meta()` / `check_meta(meta, workdir)` for what a
checkpoint must agree with. `config.task` names the module, whose class is `Task`.
"""
