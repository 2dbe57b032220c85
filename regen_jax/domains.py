"""Each domain's regen pair, direct baseline and metric, in one place.

`experiments/regen_vs_direct.py` reads only this table: a new domain joins the comparison by
adding an entry, without editing the harness. A `StageSpec` names a config file under configs/
(with its `:arg`, to which the harness appends `test` for tiny runs) and which of its config keys
take the workdir of another stage of the same comparison.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class StageSpec:
  config: str  # "image_prior.py:prior=maskgit": file under configs/ and its argument
  links: tuple[tuple[str, str], ...] = ()  # (config key, stage whose workdir it takes)
  # Step-valued config keys scaled with num_steps, so a shorter run keeps the recipe's shape
  # (e.g. when a GAN's adversarial phase starts).
  scaled_keys: tuple[str, ...] = ()

  def config_arg(self, test: bool) -> str:
    """The `configs/FILE.py:ARG` string, with `test` added for the tiny variant."""
    path, _, arg = self.config.partition(":")
    args = [a for a in (arg, "test" if test else "") if a]
    return f"{path}:{','.join(args)}" if args else path


@dataclasses.dataclass(frozen=True)
class Domain:
  """`stage1` trains on Y alone (a learned abstraction Y -> Y', or the Y' -> Y stage of a rule
  abstraction) and is reusable across tasks; `regen` is X -> Y' and takes stage 1 through its
  links; `direct` is X -> Y. `metric` is the key of each side's `evaluate` output
  (eval_<split>.json) that scores the whole X -> Y system; `references` are evaluation helpers
  (e.g. the classifier behind the image metric), trained once and charged to neither side."""
  stage1: StageSpec
  regen: StageSpec
  direct: StageSpec
  metric: tuple[str, str]  # (regen key, direct key)
  metric_name: str
  lower_is_better: bool = True
  eval_split: str = "test"
  references: tuple[tuple[str, StageSpec], ...] = ()


DOMAINS: dict[str, Domain] = {
    "image": Domain(
        stage1=StageSpec("image_tokenizer.py"),
        regen=StageSpec("image_prior.py:prior=maskgit", links=(
            ("stage1_workdir", "stage1"), ("classifier_workdir", "classifier"))),
        direct=StageSpec("image_direct.py:prior=maskgit",
                         links=(("classifier_workdir", "classifier"),)),
        metric=("frechet_distance", "frechet_distance"),
        metric_name="Fréchet distance of class-conditional samples (classifier features)",
        references=(("classifier", StageSpec("image_classifier.py")),)),
    "tts": Domain(
        stage1=StageSpec("tts_vocoder.py", scaled_keys=("gan.adversarial_start_step",)),
        regen=StageSpec("tts_acoustic.py", links=(("vocoder_workdir", "stage1"),)),
        direct=StageSpec("tts_direct.py", scaled_keys=("gan.adversarial_start_step",)),
        metric=("pipeline_mcd", "mcd"),
        metric_name="MCD (dB, DTW) of waveforms synthesized from held-out text"),
    "asr": Domain(
        stage1=StageSpec("asr_p2g.py"),
        regen=StageSpec("asr_recognizer.py", links=(("p2g_workdir", "stage1"),)),
        direct=StageSpec("asr_direct.py"),
        metric=("beam_wer", "beam_wer"),
        metric_name="WER (beam search) on held-out sentences"),
}
