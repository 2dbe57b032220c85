"""The shared core: the one training loop, its train state, optimizer, checkpoints, sharding,
workdir and config conventions. It imports no domain."""
