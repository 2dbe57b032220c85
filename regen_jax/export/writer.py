"""`python -m regen_jax export`: a trained stage's whole sampler as serialized StableHLO plus its
parameters and a manifest, for the standalone loader `exported.py` beside this file (the file
format is described there).

A stage that can be exported returns an `Exportable` from `Stage.exportable(params,
model_state)`: a pure, jittable `fn(params, **inputs) -> {name: array}`, the pytree of every
array it reads (each becomes an explicit argument, nothing is baked into the program), example
inputs of the exact shapes and dtypes, and a JSON description (what inputs and outputs mean, the
ranges of integer inputs, the domain's abstraction settings). Other stages raise UserError.
"""

import hashlib
import importlib.metadata
import json
import os

import jax
import numpy as np

from regen_jax.core import loop
from regen_jax.export import exported as exported_lib
from regen_jax.errors import UserError

# Lowered for both, so one file serves a CPU or an NVIDIA GPU (lowering for CUDA needs no GPU).
PLATFORMS = ("cpu", "cuda")
CALLING_CONVENTION = ("sampler.stablehlo takes the params leaves in manifest order, then the "
                      "inputs in manifest order, and returns the outputs in manifest order")


def _regen_jax_version() -> str:
  try:
    return importlib.metadata.version("regen_jax")
  except importlib.metadata.PackageNotFoundError:  # run from a checkout that was not installed
    return "unknown"


def _spec(array) -> jax.ShapeDtypeStruct:
  return jax.ShapeDtypeStruct(np.shape(array), array.dtype)


def _flat_sampler(fn, treedef, input_names, output_names):
  """`fn` as a function of flat arrays (params leaves, then inputs) returning a tuple: the
  calling convention the manifest states, which needs no pytree on the loader's side."""
  def sampler(*arrays):
    params = jax.tree.unflatten(treedef, arrays[:treedef.num_leaves])
    outputs = fn(params, **dict(zip(input_names, arrays[treedef.num_leaves:])))
    return tuple(outputs[name] for name in output_names)
  return sampler


def _serialized(sampler, arrays) -> bytes:
  exported = jax.export.export(jax.jit(sampler), platforms=PLATFORMS)(*map(_spec, arrays))
  return bytes(exported.serialize())


def _packed_params(paths_and_leaves) -> tuple[bytes, list[dict]]:
  """The leaves as raw little-endian bytes back to back, and each one's manifest entry."""
  chunks, entries, offset = [], [], 0
  for path, leaf in paths_and_leaves:
    array = np.asarray(leaf)
    data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
    entries.append({"path": jax.tree_util.keystr(path, simple=True, separator="/"),
                    "dtype": str(array.dtype), "shape": list(array.shape), "offset": offset,
                    "bytes": len(data)})
    chunks.append(data)
    offset += len(data)
  return b"".join(chunks), entries


def _file_entry(name: str, data: bytes) -> dict:
  return {"file": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _array_specs(arrays: dict, description: dict, key: str) -> list[dict]:
  specs = []
  for name, array in arrays.items():
    spec = {"name": name, "shape": list(np.shape(array)), "dtype": str(np.dtype(array.dtype)),
            "meaning": description[key][name]}
    if name in description.get("ranges", {}):
      spec["range"] = [int(v) for v in description["ranges"][name]]
    specs.append(spec)
  return specs


def _write_atomically(path: str, data: bytes):
  """A reader never sees a half-written file: it has the old export or the new one."""
  tmp = f"{path}.{os.getpid()}.tmp"
  with open(tmp, "wb") as f:
    f.write(data)
  os.replace(tmp, path)


def export_stage(config, workdir: str, export_dir: str) -> dict:
  """Writes the sampler of the stage trained in `workdir` to `export_dir`; returns the manifest."""
  if os.path.exists(export_dir) and not os.path.isdir(export_dir):
    raise UserError(f"--output {export_dir!r} is a file; export writes a directory")
  stage, params, model_state, step = loop.restore_for_inference(config, workdir)
  export = stage.exportable(params, model_state)
  outputs = jax.eval_shape(export.fn, export.params, **export.inputs)
  paths_and_leaves, treedef = jax.tree_util.tree_flatten_with_path(export.params)
  leaves = [leaf for _, leaf in paths_and_leaves]
  sampler = _flat_sampler(export.fn, treedef, list(export.inputs), list(outputs))
  program = _serialized(sampler, [*leaves, *export.inputs.values()])
  packed, leaf_entries = _packed_params(paths_and_leaves)
  domain = {k: v for k, v in export.description.items()
            if k not in ("inputs", "outputs", "ranges")}
  manifest = {
      "format_version": exported_lib.FORMAT_VERSION, "stage": config.stage,
      "workdir": os.path.abspath(workdir), "step": step, "jax_version": jax.__version__,
      "regen_jax_version": _regen_jax_version(), "platforms": list(PLATFORMS),
      "calling_convention": CALLING_CONVENTION,
      "inputs": _array_specs(export.inputs, export.description, "inputs"),
      "outputs": _array_specs(outputs, export.description, "outputs"),
      "sampler": _file_entry(exported_lib.SAMPLER_FILE, program),
      "params": {**_file_entry(exported_lib.PARAMS_FILE, packed), "byte_order": "little",
                 "leaves": leaf_entries},
      "domain": domain}
  manifest["checksum"] = exported_lib.manifest_checksum(manifest)
  os.makedirs(export_dir, exist_ok=True)
  _write_atomically(os.path.join(export_dir, exported_lib.SAMPLER_FILE), program)
  _write_atomically(os.path.join(export_dir, exported_lib.PARAMS_FILE), packed)
  # The manifest last: a directory whose manifest exists has the files it describes.
  _write_atomically(os.path.join(export_dir, exported_lib.MANIFEST_FILE),
                    (json.dumps(manifest, indent=2) + "\n").encode())
  exported_lib.load(export_dir)  # what the loader cannot read fails here, not at the user's
  return manifest
