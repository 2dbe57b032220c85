"""`python -m regen_jax export` and the standalone loader `regen_jax/export/exported.py` on the
tiny image stages."""

import json
import os
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest

from regen_jax.core import workdir as workdir_lib
from regen_jax.export import exported
from regen_jax.stages import pairing
from tests.helpers import ROOT, assert_one_error_line, cli

PRIOR = "image/prior.py:prior=maskgit,test"
ACOUSTIC = "tts_acoustic.py:test"
SEED = 7
FOREIGN_MODULES = ("regen_jax", "flax", "optax", "orbax", "tensorflow_datasets", "tensorflow",
                   "ml_collections", "grain")


@pytest.fixture(scope="module")
def image(trained_image):
  """The directory of the tiny image stages (conftest), with the prior's export in `export`."""
  root = trained_image["prior"].parent
  stage1 = f"--config.stage1.workdir={trained_image['tokenizer']}"
  result = cli("export", PRIOR, trained_image["prior"], stage1, f"--output={root / 'export'}")
  assert f"wrote {root / 'export'}" in result.stdout
  return root


@pytest.fixture(scope="module")
def image_inputs():
  labels = np.arange(100, dtype=np.int32) % 10
  return {"labels": labels, "rng_key": np.array([0, SEED], np.uint32)}


@pytest.fixture(scope="module")
def exported_images(image, image_inputs):
  return exported.load(str(image / "export"))(**image_inputs)["images"]


@pytest.fixture
def export_copy(image, tmp_path):
  """A copy of the image export that a test may damage."""
  return shutil.copytree(image / "export", tmp_path / "export")


def test_exported_image_sampler_reproduces_the_in_process_sampler(image, image_inputs,
                                                                exported_images):
  stage, params, _, _ = pairing.restore_workdir(str(image / "prior"))
  sample, tree = stage.export_fn(params)
  expected = jax.jit(sample)(tree, {"label": image_inputs["labels"]}, image_inputs["rng_key"])
  assert exported_images.shape == (100, 28, 28, 1) and exported_images.dtype == np.float32
  np.testing.assert_allclose(exported_images, np.asarray(expected), rtol=0, atol=1e-6)


def test_manifest_describes_files_inputs_params_and_abstraction(image):
  manifest = json.loads((image / "export" / "manifest.json").read_text())
  assert manifest["format_version"] == exported.FORMAT_VERSION
  assert manifest["step"] == workdir_lib.saved_config(str(image / "prior")).num_steps  # the last
  assert manifest["jax_version"] == jax.__version__ and manifest["platforms"] == ["cpu", "cuda"]
  assert [(i["name"], i["shape"], i["dtype"]) for i in manifest["inputs"]] == [
      ("labels", [100], "int32"), ("rng_key", [2], "uint32")]
  leaves = manifest["params"]["leaves"]
  assert {leaf["path"].split("/")[0] for leaf in leaves} == {"prior", "stage1"}
  assert leaves[-1]["offset"] + leaves[-1]["bytes"] == manifest["params"]["bytes"]
  assert manifest["domain"]["abstraction"]["grid"] == [14, 14]
  assert manifest["domain"]["abstraction"]["fingerprint"].startswith("vq-step40-")  # conftest


def test_loader_runs_alone_without_regen_jax_or_training_libraries(image, exported_images,
                                                                  tmp_path):
  """A copy of exported.py next to nothing else loads and runs the export."""
  shutil.copy(os.path.join(ROOT, "regen_jax", "export", "exported.py"), tmp_path)
  script = ("import sys, numpy as np, exported\n"
            f"out = exported.load({str(image / 'export')!r})(labels=np.arange(100, dtype=np.int32)"
            f" % 10, rng_key=np.array([0, {SEED}], np.uint32))\n"
            f"np.save({str(tmp_path / 'images.npy')!r}, out['images'])\n"
            "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))\n")
  result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": ""})
  assert result.returncode == 0, result.stderr[-3000:]
  imported = set(result.stdout.split())
  assert "exported" in imported and not imported & set(FOREIGN_MODULES)
  np.testing.assert_array_equal(np.load(tmp_path / "images.npy"), exported_images)


def test_other_format_version_is_a_clear_error(export_copy):
  path = export_copy / "manifest.json"
  manifest = json.loads(path.read_text())
  path.write_text(json.dumps({**manifest, "format_version": 1}))
  with pytest.raises(exported.ExportError, match="format_version 1, but this loader reads "
                                                 "format_version 2"):
    exported.load(str(export_copy))


@pytest.mark.parametrize("name", ["params.bin", "sampler.stablehlo"])
def test_truncated_missing_or_corrupted_files_are_clear_errors(export_copy, name):
  path = export_copy / name
  data = path.read_bytes()
  path.write_bytes(data[:len(data) // 2])
  with pytest.raises(exported.ExportError, match=f"{name} has {len(data) // 2} bytes, the "
                                                 f"manifest says {len(data)}: .*truncated"):
    exported.load(str(export_copy))
  path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
  with pytest.raises(exported.ExportError, match=f"{name} does not match the sha256"):
    exported.load(str(export_copy))
  path.unlink()
  with pytest.raises(exported.ExportError, match=f"{name} is missing"):
    exported.load(str(export_copy))


def test_inputs_of_another_name_shape_or_dtype_are_clear_errors(image, image_inputs):
  sampler = exported.load(str(image / "export"))
  with pytest.raises(exported.ExportError, match="takes inputs labels, rng_key; got labels"):
    sampler(labels=image_inputs["labels"])
  with pytest.raises(exported.ExportError, match=r"'labels' must be int32 of shape \(100,\), "
                                                 r"got int64 of shape \(3,\)"):
    sampler(labels=np.arange(3), rng_key=image_inputs["rng_key"])


def test_stage_without_a_sampler_is_refused_in_one_line(image):
  result = cli("export", "image/tokenizer.py:test", image / "tokenizer", check=False)
  assert_one_error_line(result, "stage Tokenizer cannot be exported")


def _edit_manifest(export_copy, edit):
  path = export_copy / "manifest.json"
  manifest = json.loads(path.read_text())
  path.write_text(json.dumps(edit(manifest)))


def test_an_edited_manifest_fails_its_checksum(export_copy):
  _edit_manifest(export_copy, lambda m: {**m, "domain": {**m["domain"], "num_classes": 11}})
  with pytest.raises(exported.ExportError, match="does not match its checksum"):
    exported.load(str(export_copy))


@pytest.mark.parametrize("edit, message", [
    (lambda m: {"format_version": m["format_version"]}, "manifest.json has no 'checksum'"),
    (lambda m: {**m, "inputs": {"labels": 1}}, "manifest.json.inputs must be a JSON list"),
    (lambda m: {**m, "params": {**m["params"], "leaves": [{"dtype": "float32"}]}},
     r"manifest.json.params.leaves\[0\] has no 'shape'"),
    (lambda m: {**m, "sampler": {**m["sampler"], "bytes": "12"}},
     "manifest.json.sampler.bytes must be int"),
])
def test_a_manifest_of_the_wrong_shape_is_an_export_error(export_copy, edit, message):
  _edit_manifest(export_copy, edit)
  with pytest.raises(exported.ExportError, match=message):
    exported.load(str(export_copy))
  (export_copy / "manifest.json").write_text("[1, 2]")
  with pytest.raises(exported.ExportError, match="format_version None"):
    exported.load(str(export_copy))


def test_inputs_outside_their_declared_range_are_refused(image, image_inputs):
  sampler = exported.load(str(image / "export"))
  assert sampler.inputs["labels"]["range"] == [0, 10]
  for bad in (10, -1):
    labels = image_inputs["labels"].copy()
    labels[5] = bad
    with pytest.raises(exported.ExportError, match=rf"'labels' takes values in \[0, 10\), "
                                                   rf"got {bad}"):
      sampler(labels=labels, rng_key=image_inputs["rng_key"])
