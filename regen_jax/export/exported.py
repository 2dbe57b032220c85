"""Standalone loader of a sampler exported by `python -m regen_jax export` (docs/export.md).

This file imports only json, hashlib, os, numpy and jax, so it can be copied next to an export
directory and used without regen_jax, flax, optax, orbax or TFDS installed:

  import exported
  sampler = exported.load("runs/export/prior")
  images = sampler(labels=np.arange(100, dtype=np.int32) % 10,
                   rng_key=np.array([0, 7], np.uint32))["images"]

An export directory holds
  manifest.json      what the files are: `format_version`, the inputs and outputs (name, shape,
                     dtype, meaning, and for integer inputs the `range` [low, high) they must
                     lie in), each parameter leaf (key path, dtype, shape, byte offset), sizes
                     and sha256 of the other two files, the domain's abstraction settings, and
                     `checksum`: the sha256 of all of that (JSON, keys sorted, no spaces);
  sampler.stablehlo  `jax.export.Exported.serialize()` of the sampler, called as
                     sampler(*params in manifest order, *inputs in manifest order);
  params.bin         the parameter leaves as raw little-endian arrays, back to back.
Serialization needs the `flatbuffers` package, as jax.export does.
"""

import hashlib
import json
import os

import jax
import numpy as np

FORMAT_VERSION = 2  # 2: the manifest's own checksum and input ranges
MANIFEST_FILE = "manifest.json"
SAMPLER_FILE = "sampler.stablehlo"
PARAMS_FILE = "params.bin"
_CHUNK = 1 << 20


class ExportError(ValueError):
  """An export directory this loader cannot use, or inputs the sampler does not take."""


def sha256_of(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(_CHUNK), b""):
      digest.update(chunk)
  return digest.hexdigest()


def manifest_checksum(manifest: dict) -> str:
  """sha256 of every field but `checksum`, as JSON with sorted keys and no spaces."""
  fields = {k: v for k, v in manifest.items() if k != "checksum"}
  return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
                        ).hexdigest()


# What the loader reads of a manifest, and the JSON type each must have: anything else is a
# manifest this loader cannot trust, refused before it is used.
_FILE = {"file": str, "bytes": int, "sha256": str}
_ARRAY = {"name": str, "shape": [int], "dtype": str}
_LEAF = {"dtype": str, "shape": [int], "offset": int, "bytes": int}
_MANIFEST = {"format_version": int, "checksum": str, "inputs": [_ARRAY], "outputs": [_ARRAY],
             "sampler": _FILE, "params": {**_FILE, "leaves": [_LEAF]}}


def _check_shape(value, schema, where: str):
  """Raises ExportError naming the first field of `value` that does not fit `schema`."""
  if isinstance(schema, dict):
    if not isinstance(value, dict):
      raise ExportError(f"{where} must be a JSON object, got {type(value).__name__}")
    for key, sub in schema.items():
      if key not in value:
        raise ExportError(f"{where} has no {key!r}")
      _check_shape(value[key], sub, f"{where}.{key}")
  elif isinstance(schema, list):
    if not isinstance(value, list):
      raise ExportError(f"{where} must be a JSON list, got {type(value).__name__}")
    for i, item in enumerate(value):
      _check_shape(item, schema[0], f"{where}[{i}]")
  elif not isinstance(value, schema) or isinstance(value, bool):
    raise ExportError(f"{where} must be {schema.__name__}, got {value!r}")


def _read_manifest(export_dir: str) -> dict:
  path = os.path.join(export_dir, MANIFEST_FILE)
  if not os.path.isfile(path):
    raise ExportError(f"{export_dir!r} is not an export directory: it has no {MANIFEST_FILE}")
  try:
    with open(path) as f:
      manifest = json.load(f)
  except (ValueError, UnicodeDecodeError) as e:
    raise ExportError(f"{path} is not valid JSON ({e})") from e
  version = manifest.get("format_version") if isinstance(manifest, dict) else None
  if version != FORMAT_VERSION:
    writer = manifest.get("regen_jax_version", "unknown") if isinstance(manifest, dict) else "?"
    raise ExportError(f"{path} has format_version {version!r}, but this loader reads "
                      f"format_version {FORMAT_VERSION}: use the exported.py of the regen_jax "
                      f"version that wrote it ({writer}), or export again")
  _check_shape(manifest, _MANIFEST, MANIFEST_FILE)
  if manifest_checksum(manifest) != manifest["checksum"]:
    raise ExportError(f"{path} does not match its checksum: it was edited or damaged; "
                      f"export again")
  return manifest


def _checked_bytes(export_dir: str, entry: dict) -> bytes:
  """The file `entry` describes, after checking that its size and sha256 are the manifest's."""
  path = os.path.join(export_dir, entry["file"])
  if not os.path.isfile(path):
    raise ExportError(f"{path} is missing: copy the whole export directory")
  size = os.path.getsize(path)
  if size != entry["bytes"]:
    raise ExportError(f"{path} has {size} bytes, the manifest says {entry['bytes']}: the file is "
                      f"truncated or from another export")
  if sha256_of(path) != entry["sha256"]:
    raise ExportError(f"{path} does not match the sha256 in the manifest: the file is corrupted "
                      f"or from another export")
  with open(path, "rb") as f:
    return f.read()


def _params(data: bytes, leaves: list[dict]) -> list[np.ndarray]:
  """The parameter leaves, in manifest order, as arrays viewing `data`."""
  arrays = []
  for leaf in leaves:
    dtype = np.dtype(jax.numpy.dtype(leaf["dtype"])).newbyteorder("<")
    count = int(np.prod(leaf["shape"], dtype=np.int64))
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=leaf["offset"])
    arrays.append(flat.reshape(leaf["shape"]))
  return arrays


def _platform() -> str:
  """This process's platform under jax.export's names ('gpu' devices lower as 'cuda')."""
  backend = jax.default_backend()
  return "cuda" if backend == "gpu" else backend


class Sampler:
  """An exported sampler with its parameters on the default device: `sampler(**inputs)`."""

  def __init__(self, manifest: dict, exported, params: list[np.ndarray]):
    self.manifest = manifest
    self.inputs = {spec["name"]: spec for spec in manifest["inputs"]}
    self.output_names = [spec["name"] for spec in manifest["outputs"]]
    self._params = [jax.device_put(p) for p in params]
    self._call = jax.jit(exported.call)  # compiled once, on the first call

  def _checked_inputs(self, given: dict) -> list[np.ndarray]:
    if set(given) != set(self.inputs):
      raise ExportError(f"the sampler takes inputs {', '.join(self.inputs)}; "
                        f"got {', '.join(given) or 'none'}")
    arrays = []
    for name, spec in self.inputs.items():
      value = np.asarray(given[name])
      expected = (tuple(spec["shape"]), spec["dtype"])
      if (value.shape, str(value.dtype)) != expected:
        raise ExportError(f"input {name!r} must be {spec['dtype']} of shape {tuple(spec['shape'])}"
                          f", got {value.dtype} of shape {value.shape}")
      if "range" in spec and value.size:
        low, high = spec["range"]
        if value.min() < low or value.max() >= high:
          bad = value[(value < low) | (value >= high)].reshape(-1)[0]
          raise ExportError(f"input {name!r} takes values in [{low}, {high}), got {bad}")
      arrays.append(value)
    return arrays

  def __call__(self, **inputs) -> dict[str, np.ndarray]:
    outputs = self._call(*self._params, *self._checked_inputs(inputs))
    return {name: np.asarray(value) for name, value in zip(self.output_names, outputs)}


def load(export_dir: str) -> Sampler:
  """The sampler in `export_dir`, after checking its manifest (format version, shape,
  checksum) and the sizes and hashes of its files."""
  manifest = _read_manifest(export_dir)
  sampler_bytes = _checked_bytes(export_dir, manifest["sampler"])
  params_bytes = _checked_bytes(export_dir, manifest["params"])
  try:
    exported = jax.export.deserialize(bytearray(sampler_bytes))
  except Exception as e:  # flatbuffers reports a bad buffer with assorted exception types
    raise ExportError(f"{os.path.join(export_dir, manifest['sampler']['file'])} could not be "
                      f"deserialized ({type(e).__name__}: {e})") from e
  if _platform() not in exported.platforms:
    raise ExportError(f"the sampler was exported for {', '.join(exported.platforms)}; "
                      f"this process runs on {_platform()}")
  return Sampler(manifest, exported, _params(params_bytes, manifest["params"]["leaves"]))
