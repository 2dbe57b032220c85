"""Stages as tasks for the shared loop (`regen_jax/train/loop.py`).

A task provides: `train_arrays` / `eval_arrays` (dicts of host arrays), `example_batch(n)`,
`init(rng, batch) -> (params, model_state)`,
`loss(params, model_state, batch, rng, step) -> (loss, (metrics, model_state))`,
`eval_metrics(params, model_state, batch) -> sums over the batch's masked rows`,
`summarize(sums) -> metrics`, `on_eval(params, model_state, step, full=False) -> metrics`
(samples, PNGs, WAVs), `progress_keys`, `meta()` / `check_meta(meta, workdir)` for what a
checkpoint must agree with, and for the `sample` command `sample(params, model_state, path,
**inputs) -> files written` with `sample_inputs` (its flags, e.g. text) and `sample_suffix`.
`phase(step)` is None, or a hashable the loop passes to `loss(..., phase=...)` and compiles
one step per value of (a loss that changes at a fixed step, e.g. a GAN's warm-up without the
discriminators: a Python switch keeps each compiled step lean, where `lax.cond` made the GAN
branch ~7x slower on CPU). `config.task` names the module, whose class is `Task`.
`stage.Stage` holds the defaults; image stages share `base.ImageTask`, speech stages
`speech.SpeechTask`, and stages trained with CTC (recognizer, P2G) the `stage.CTCStage` mixin.
"""
