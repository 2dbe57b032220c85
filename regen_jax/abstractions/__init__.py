"""Y <-> Y′ by kind, not by domain: vector quantization (`vq`), and handcrafted rules (`pixels`,
`mel`, `phonemes`). The `Abstraction` interface they serve is `regen_jax.stages.abstraction`."""
