"""Layers that stages of several domains share (Flax linen)."""
