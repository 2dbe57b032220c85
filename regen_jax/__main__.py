from regen_jax.main import run

run()
