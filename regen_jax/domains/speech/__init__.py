"""Speech, two domains on one offline corpus (flite, festival and espeak-ng voices reading Debian's
fortunes):
synthesis ("tts": text -> phonemes -> mel -> waveform, beside a direct text -> waveform model)
and recognition ("asr": speech -> phonemes -> text, beside a direct speech -> text model)."""

from regen_jax.domains.speech.acoustic import AcousticModel
from regen_jax.domains.speech.p2g import PhonemeToGrapheme
from regen_jax.domains.speech.recognizer import Recognizer
from regen_jax.domains.speech.tts_direct import TTSDirect
from regen_jax.domains.speech.vocoder import Vocoder
from regen_jax.stages.registry import Comparison, Domain, StageConfig

_GAN_START = ("gan.adversarial_start_step",)

DOMAINS = (
    Domain(
        name="tts",
        stages=(Vocoder, AcousticModel, TTSDirect),
        comparison=Comparison(
            stage1=StageConfig("tts/vocoder.py", scaled_keys=_GAN_START),
            regen=StageConfig("tts/acoustic.py"),
            direct=StageConfig("tts/direct.py", scaled_keys=_GAN_START),
            metric=("pipeline_asr_wer", "direct_asr_wer"),
            metric_name="ASR-WER (PocketSphinx) of speech synthesized from held-out text")),
    Domain(
        name="asr",
        stages=(PhonemeToGrapheme, Recognizer),
        comparison=Comparison(
            stage1=StageConfig("asr/p2g.py"),
            regen=StageConfig("asr/recognizer.py"),
            direct=StageConfig("asr/direct.py"),
            metric=("lexicon_wer", "lexicon_wer"),
            metric_name="WER (lexicon decoding with the word LM) on held-out sentences")),
)
