"""Out of memory as one error line.

A step is compiled ahead of its first run and XLA's memory analysis of it (arguments, outputs
and temporaries per device, donated buffers counted once) is compared with what the device has
free: a batch that cannot fit is refused before it runs, instead of thrashing the host's memory
(CPU) or failing deep in the runtime. An allocation that fails anyway is reported the same way.
"""

import jax

from regen_jax.errors import UserError

_GIB = 2**30
# XLA's analysis leaves out what the runtime and the host arrays take beside the program: a
# program is refused when it needs more than this share of the free memory.
USABLE_SHARE = 0.8


def free_bytes(device) -> int | None:
  """Memory one device can still allocate: the allocator's limit on accelerators; on the CPU the
  host's available memory shared by its devices. None when unknown."""
  stats = device.memory_stats() or {}
  if "bytes_limit" in stats:
    return stats["bytes_limit"] - stats.get("bytes_in_use", 0)
  if device.platform != "cpu":
    return None
  try:
    with open("/proc/meminfo") as f:
      fields = dict(line.split(":", 1) for line in f)
  except OSError:
    return None
  available = int(fields["MemAvailable"].split()[0]) * 1024
  return available // jax.local_device_count()


def needed_bytes(compiled) -> int | None:
  analysis = compiled.memory_analysis()
  if analysis is None:
    return None
  return (analysis.argument_size_in_bytes + analysis.output_size_in_bytes
          + analysis.temp_size_in_bytes - analysis.alias_size_in_bytes)


def check(compiled, what: str, advice: str):
  """Refuses `compiled` (one device's program) when it needs more than a device has free."""
  needed, free = needed_bytes(compiled), free_bytes(jax.local_devices()[0])
  if needed is not None and free is not None and needed > USABLE_SHARE * free:
    raise UserError(f"out of memory: {what} needs about {needed / _GIB:.1f} GiB on each device, "
                    f"{free / _GIB:.1f} GiB are free: {advice}")


def is_out_of_memory(error: BaseException) -> bool:
  return isinstance(error, MemoryError) or (
      isinstance(error, jax.errors.JaxRuntimeError) and "RESOURCE_EXHAUSTED" in str(error))


def out_of_memory_error(error: BaseException, advice: str) -> UserError:
  first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
  return UserError(f"out of memory ({first[:200]}): {advice}")
