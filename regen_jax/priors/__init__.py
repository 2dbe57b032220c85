"""Prior families X -> Y′ over the spec of a stage 1's Y′, independent of any domain: token
priors (`tokens`: autoregressive with a KV cache, and masked/MaskGIT), CTC (`ctc`) and
non-autoregressive frames with durations (`durations`). A domain binds a family to its data by
subclassing it and supplying a condition encoder (X -> what the model attends to): a Flax module
that shares the family model's scope, so its layers are the stage's own parameters."""
