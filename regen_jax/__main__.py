from regen_jax.cli import run

run()
