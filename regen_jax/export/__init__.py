"""`python -m regen_jax export` (`writer`) and the standalone loader of what it writes
(`exported`, a file that imports only numpy and jax)."""

from regen_jax.export.writer import export_stage  # noqa: F401
