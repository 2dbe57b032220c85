"""The continuous route: KL autoencoder -> latent flow prior (and the GIVT-style prior over the
same latents), and the pixel flow baseline; the ODE sampler, classifier-free guidance and their
clear errors."""

import functools
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from regen_jax.domains.image.autoencoder import shift_and_scale
from regen_jax.errors import UserError
from regen_jax.export import exported
from regen_jax.priors import flow
from regen_jax.stages import base as stage_lib
from regen_jax.stages import pairing
from tests.helpers import assert_one_error_line, cli, config, losses

AUTOENCODER = "image/autoencoder.py:test"
FLOW = "image/flow.py:test"
PIXEL_FLOW = "image/pixel_flow.py:test"
GIVT = "image/givt.py:test"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, trained_image):
  """A tiny KL autoencoder and the flow and GIVT priors over its latents (classifier from
  conftest)."""
  root = tmp_path_factory.mktemp("flow")
  dirs = {name: root / name for name in ("autoencoder", "flow", "givt")}
  cli("train", AUTOENCODER, dirs["autoencoder"], "--config.num_steps=40")
  for name, prior in (("flow", FLOW), ("givt", GIVT)):
    cli("train", prior, dirs[name], "--config.num_steps=40",
        f"--config.stage1.workdir={dirs['autoencoder']}",
        f"--config.classifier.workdir={trained_image['classifier']}")
  return dirs


@pytest.fixture(scope="module")
def pixel_flow(data_dir):
  stage = stage_lib.build(config(PIXEL_FLOW))
  params, _ = stage.init(jax.random.key(0), stage.example_batch(4))
  return stage, params


def test_autoencoder_flow_and_givt_losses_fall(trained):
  for name in ("autoencoder", "flow", "givt"):
    logged = losses(trained[name])
    first, last = logged[min(logged)][0], logged[max(logged)][0]
    # GIVT's loss is an NLL in nats per value (it can be negative): an absolute drop.
    assert (first - last > 0.3) if name == "givt" else (last < 0.8 * first), name


def test_latent_scale_is_stored_and_applied_both_ways(trained, tiny_validation):
  stage, params, stats, step = pairing.restore_workdir(str(trained["autoencoder"]))
  shift, scale = shift_and_scale(stats)
  assert scale > 0 and (shift, scale) != (0.0, 1.0)
  latents = stage.abstraction(params, stats, step)
  assert (latents.spec.shift, latents.spec.scale) == (shift, scale)
  images = tiny_validation["image"][:8]
  mean = np.asarray(stage.posterior(params, images)[0])
  standardised = np.asarray(latents.encode(images))
  np.testing.assert_allclose(standardised * scale + shift, mean, rtol=1e-5, atol=1e-5)
  decoded = np.asarray(latents.decode(standardised))
  expected = np.clip(np.asarray(stage.decode(params, standardised * scale + shift)), 0, 1)
  np.testing.assert_allclose(decoded, expected, rtol=1e-5, atol=1e-5)


def test_flow_checkpoint_records_the_autoencoder_scale(trained):
  saved = pairing.restore_workdir(str(trained["flow"])).stage.trained_against()["stage1"]
  _, _, stats, _ = pairing.restore_workdir(str(trained["autoencoder"]))
  assert (saved["spec"]["shift"], saved["spec"]["scale"]) == shift_and_scale(stats)


@pytest.mark.parametrize("solver", flow.SOLVERS)
def test_sampler_is_deterministic_given_the_seed(pixel_flow, solver):
  stage, params = pixel_flow
  stage.config.sampling.solver = solver
  labels = {"label": jnp.arange(3)}
  sample = jax.jit(stage.sample_y_prime)
  first, again = sample(params, labels, jax.random.key(1)), sample(params, labels, jax.random.key(1))
  np.testing.assert_array_equal(np.asarray(first), np.asarray(again))
  other = sample(params, labels, jax.random.key(2))
  assert first.shape == (3, 28, 28, 1) and not np.allclose(np.asarray(first), np.asarray(other))


def test_a_constant_velocity_is_integrated_exactly_and_heun_beats_euler():
  noise, velocity = jnp.ones((2, 3)), jnp.arange(6.0).reshape(2, 3)
  for solver in flow.SOLVERS:
    end = flow.integrate(lambda x, t: velocity, noise, 5, solver)
    np.testing.assert_allclose(end, noise - velocity, rtol=1e-6)
  # dx/dt = x from t = 1 to 0: x(0) = x(1) / e.
  errors = {solver: abs(float(flow.integrate(lambda x, t: x, jnp.ones(()), 8, solver)) - np.exp(-1))
            for solver in flow.SOLVERS}
  assert errors["heun"] < errors["euler"] / 10


def test_guidance_one_is_the_conditional_model_and_zero_the_unconditional(pixel_flow):
  stage, params = pixel_flow
  x = jax.random.normal(jax.random.key(0), (3, 28, 28, 1))
  t, labels = jnp.array([0.2, 0.5, 0.9]), {"label": jnp.array([1, 4, 7])}
  # Non-zero weights where adaLN-Zero starts at zero, so that the condition matters.
  params = jax.tree.map(lambda p: p + 0.05 * jax.random.normal(jax.random.key(1), p.shape), params)
  velocity = lambda x, t, c, drop: stage.velocity(params, x, t, c, drop)
  conditional = velocity(x, t, labels, jnp.zeros(3, bool))
  unconditional = velocity(x, t, labels, jnp.ones(3, bool))
  assert not np.allclose(conditional, unconditional, atol=1e-4)
  np.testing.assert_allclose(flow.guided_velocity(velocity, x, t, labels, 1.0), conditional,
                             rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(flow.guided_velocity(velocity, x, t, labels, 0.0), unconditional,
                             rtol=1e-5, atol=1e-5)


def test_direct_and_regen_denoisers_share_the_trunk(pixel_flow, trained):
  """49 tokens each (4x4 pixel patches vs 1x1 latent patches): they differ only in the patch
  projections."""
  direct_params = pixel_flow[1]
  regen_params = pairing.restore_workdir(str(trained["flow"])).params
  count = lambda tree: sum(x.size for x in jax.tree.leaves(tree))
  stage = pixel_flow[0]
  assert stage.spec.grid == (28, 28) and stage.config.model.patch_size == 4
  trunk = lambda tree: {k: v for k, v in tree["denoiser"].items()
                        if k not in ("patchify", "head", "position_embed")}
  assert count(trunk(direct_params)) == count(trunk(regen_params))


def test_flow_refuses_a_stage1_of_tokens(data_dir):
  prior = config(FLOW)
  prior.stage1 = config("image/direct.py:test").stage1
  with pytest.raises(UserError, match="models LatentSpecs; config.stage1 makes pixels"):
    stage_lib.build(prior)


@pytest.mark.parametrize("override, fragment", [
    ("--config.sampling.guidance=-1.0", "sampling.guidance must be >= 0"),
    ("--config.sampling.steps=0", "sampling.steps must be an integer >= 1"),
    ("--label=10", "--label 10 is not a class of regen_fashion_mnist/tiny (0 to 9)"),
])
def test_bad_sampling_input_is_one_error_line(trained, tmp_path, override, fragment):
  result = cli("sample", FLOW, trained["flow"], override, f"--output={tmp_path / 'x.png'}",
               f"--config.stage1.workdir={trained['autoencoder']}", check=False)
  assert_one_error_line(result, fragment)
  assert not (tmp_path / "x.png").exists()


def test_flow_refuses_an_autoencoder_it_was_not_trained_on(trained, tmp_path):
  other = tmp_path / "other_autoencoder"
  cli("train", AUTOENCODER, other, "--config.num_steps=5", "--config.seed=1")
  result = cli("sample", FLOW, trained["flow"], f"--config.stage1.workdir={other}",
               f"--output={tmp_path / 'x.png'}", check=False)
  assert_one_error_line(result, "trained against other inputs", "stage1.fingerprint")
  assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("name, prior", [("flow", FLOW), ("givt", GIVT)])
def test_sample_label_writes_a_grid_of_one_class(trained, tmp_path, name, prior):
  out = tmp_path / "coats.png"
  cli("sample", prior, trained[name], "--label=4", f"--output={out}",
      f"--config.stage1.workdir={trained['autoencoder']}")
  assert out.exists()


def test_exported_flow_sampler_reproduces_the_in_process_one(trained, tmp_path):
  out = tmp_path / "export"
  cli("export", FLOW, trained["flow"], f"--config.stage1.workdir={trained['autoencoder']}",
      f"--output={out}")
  labels, key = np.arange(100, dtype=np.int32) % 10, np.array([0, 3], np.uint32)
  images = exported.load(str(out))(labels=labels, rng_key=key)["images"]
  stage, params, _, _ = pairing.restore_workdir(str(trained["flow"]))
  sample, tree = stage.export_fn(params)
  expected = jax.jit(sample)(tree, {"label": labels}, key)
  np.testing.assert_allclose(images, np.asarray(expected), rtol=0, atol=1e-5)


def test_autoencoder_patch_gan_joins_at_its_start_step(tiny_validation):
  plain = stage_lib.build(config(AUTOENCODER))
  with_gan = config(AUTOENCODER)
  with_gan.adversarial = ml_collections.ConfigDict({"weight": 0.1, "start_step": 1})
  stage = stage_lib.build(with_gan)
  batch = {"image": tiny_validation["image"][:8]}
  params, stats = stage.init(jax.random.key(0), batch)
  assert set(params) == {"encoder", "decoder", "discriminator"}
  loss_of = lambda stage, params, step: jax.value_and_grad(stage.loss, has_aux=True)(
      params, stats, batch, jax.random.key(1), step, phase=stage.phase(step))
  (before, _), grads_before = loss_of(stage, params, 0)
  (without, _), _ = loss_of(plain, {k: params[k] for k in ("encoder", "decoder")}, 0)
  np.testing.assert_allclose(before, without, rtol=1e-6)  # before its start: the plain loss
  assert all(not np.any(g) for g in jax.tree.leaves(grads_before["discriminator"]))
  (after, (metrics, _)), grads_after = loss_of(stage, params, 1)
  assert after != before and metrics["discriminator"] > 0
  assert any(np.any(g) for g in jax.tree.leaves(grads_after["discriminator"]))
  flops = lambda stage, params, step: jax.jit(functools.partial(
      stage.loss, phase=stage.phase(step))).lower(
          params, stats, batch, jax.random.key(1), step).cost_analysis()["flops"]
  plain_params = {k: params[k] for k in ("encoder", "decoder")}
  assert flops(stage, params, 0) == flops(plain, plain_params, 0)  # no discriminator runs
  assert flops(stage, params, 1) > flops(plain, plain_params, 1)
