"""The typed interfaces between the loop, the stages and the domains: `base.Stage` (what the loop
trains), `abstraction.Abstraction` / `AbstractionStage` (Y <-> Y′ and the stage 1 providing it),
`specs` (what Y′ is), `pairing` (how a stage 2 finds its stage 1), `registry` (a domain's
entry) and `cache` (stage 1's Y′ stored for stage 2)."""
