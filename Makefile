# make demo (= make demo-image): venv + install + the image domain end to end on offline
#   Fashion-MNIST (2 CPU cores): class -> KL latents -> image by flow, beside class -> pixels
#   by the same flow
# make demo-image-vq: then the discrete route, class -> VQ codes -> image (MaskGIT), beside
#   its pixel twin (the same MaskGIT over pixel patches, an autoregressive head in each)
# make demo-tts: speech synthesis end to end on flite's slt voice (2 CPU cores)
# make demo-asr: speech recognition end to end on flite, espeak-ng and festival voices (2 CPU cores)
# make demo-text: definitions of held-out WordNet lemmas, record -> plan -> text (2 CPU cores)
# make demo-music: Bach chorale melodies harmonised, melody -> chords -> voices (2 CPU cores)
# make demo-video: moving Fashion-MNIST clips, class/first frames -> tokens -> clip (2 CPU cores)
# make test: the test suite (what CI runs)
# make test-slow: the tests marked slow (minutes each), left out of make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNS ?= runs/demo
# The offline dataset is built once under runs/ (not in ~/tensorflow_datasets).
export TFDS_DATA_DIR ?= $(CURDIR)/runs/tensorflow_datasets
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
ESPEAK := /usr/bin/espeak-ng
FLITE := /usr/bin/flite
FESTIVAL_VOICES := /usr/share/festival/voices/us/cmu_us_slt_arctic_hts/festvox/cmu_us_slt_arctic_hts.scm
SPEECH := $(ESPEAK) $(FLITE) $(FESTIVAL_VOICES) $(FORTUNES)
FORTUNES := /usr/share/games/fortunes/fortunes
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

RUN := $(BIN)/python -m regen_jax
CLASSIFIER := --config configs/image/classifier.py --workdir $(RUNS)/classifier
TOKENIZER := --config configs/image/tokenizer.py --workdir $(RUNS)/tokenizer
PRIOR := --config configs/image/prior.py:prior=maskgit --workdir $(RUNS)/prior \
  --config.stage1.workdir=$(RUNS)/tokenizer --config.classifier.workdir=$(RUNS)/classifier
PIXEL_TWIN := --config configs/image/direct.py:prior=maskgit --workdir $(RUNS)/pixel_twin \
  --config.classifier.workdir=$(RUNS)/classifier
AUTOENCODER := --config configs/image/autoencoder.py --workdir $(RUNS)/autoencoder
FLOW := --config configs/image/flow.py --workdir $(RUNS)/flow \
  --config.stage1.workdir=$(RUNS)/autoencoder --config.classifier.workdir=$(RUNS)/classifier
PIXEL_FLOW := --config configs/image/pixel_flow.py --workdir $(RUNS)/pixel_flow \
  --config.classifier.workdir=$(RUNS)/classifier

TTS_RUNS ?= runs/tts
ACOUSTIC := --config configs/tts/acoustic.py --workdir $(TTS_RUNS)/acoustic
VOCODER := --config configs/tts/vocoder.py --workdir $(TTS_RUNS)/vocoder
TTS_DIRECT := --config configs/tts/direct.py --workdir $(TTS_RUNS)/direct
SENTENCE := "Regeneration learning splits a hard problem into two easier ones."

ASR_RUNS ?= runs/asr
P2G := --config configs/asr/p2g.py --workdir $(ASR_RUNS)/p2g
RECOGNIZER := --config configs/asr/recognizer.py --workdir $(ASR_RUNS)/recognizer \
  --config.stage1.workdir=$(ASR_RUNS)/p2g
ASR_DIRECT := --config configs/asr/direct.py --workdir $(ASR_RUNS)/direct
HELD_OUT_WAV := $(ASR_RUNS)/held_out_voice.wav

TEXT_RUNS ?= runs/text
REALIZER := --config configs/text/realizer.py --workdir $(TEXT_RUNS)/realizer
PLANNER := --config configs/text/planner.py --workdir $(TEXT_RUNS)/planner \
  --config.stage1.workdir=$(TEXT_RUNS)/realizer
TEXT_DIRECT := --config configs/text/direct.py --workdir $(TEXT_RUNS)/direct
MUSIC_RUNS ?= runs/music
VOICING := --config configs/music/voicing.py --workdir $(MUSIC_RUNS)/voicing
HARMONIZER := --config configs/music/planner.py --workdir $(MUSIC_RUNS)/planner \
  --config.stage1.workdir=$(MUSIC_RUNS)/voicing
MUSIC_DIRECT := --config configs/music/direct.py --workdir $(MUSIC_RUNS)/direct
FLUIDSYNTH := /usr/bin/fluidsynth
VIDEO_RUNS ?= runs/video
CLIP_CLASSIFIER := --config configs/video/classifier.py --workdir $(VIDEO_RUNS)/classifier
VIDEO_TOKENIZER := --config configs/video/tokenizer.py --workdir $(VIDEO_RUNS)/tokenizer
VIDEO_PRIOR := --config configs/video/prior.py --workdir $(VIDEO_RUNS)/prior \
  --config.stage1.workdir=$(VIDEO_RUNS)/tokenizer --config.classifier.workdir=$(VIDEO_RUNS)/classifier
VIDEO_DIRECT := --config configs/video/direct.py --workdir $(VIDEO_RUNS)/direct \
  --config.classifier.workdir=$(VIDEO_RUNS)/classifier
CAMERA_CLIP = $$($(BIN)/python -c "from regen_jax.domains.video import camera; print(camera.sample_clip_path())")
WORDNET := /usr/share/wordnet/data.noun
RECORD := '{"lemma": "lighthouse", "pos": "noun", "lexfile": "noun.artifact", "hypernym": "tower"}'

.PHONY: demo demo-image demo-image-vq demo-tts demo-asr demo-text demo-music demo-video test \
  test-slow venv clean

venv: $(BIN)/.installed
$(BIN)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,experiments]'
	touch $@

# Fashion-MNIST as Debian ships it (the original IDX files).
$(FASHION_MNIST):
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dataset-fashion-mnist

# The offline speech corpus: flite, festival and espeak-ng voices reading Debian's fortunes.
$(ESPEAK) $(FLITE) $(FESTIVAL_VOICES) $(FORTUNES):
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq espeak-ng flite festival \
	  festvox-us-slt-hts festvox-kallpc16k festvox-kdlpc16k fortunes

# WordNet 3.0 as Debian ships it (read where installed, never copied).
$(WORDNET):
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wordnet-base

# The harmonisations' audio: fluidsynth with the General-MIDI soundfont.
$(FLUIDSYNTH):
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq fluidsynth fluid-soundfont-gm

demo: venv $(FASHION_MNIST)
	$(RUN) train $(CLASSIFIER)
	$(RUN) train $(AUTOENCODER)
	$(RUN) train $(FLOW)
	$(RUN) train $(PIXEL_FLOW)
	$(RUN) evaluate $(CLASSIFIER) --config.eval_split=test
	$(RUN) evaluate $(AUTOENCODER) --config.eval_split=test
	$(RUN) evaluate $(FLOW) --config.eval_split=test
	$(RUN) evaluate $(PIXEL_FLOW) --config.eval_split=test
	$(RUN) sample $(FLOW) --output $(RUNS)/flow_samples.png
	$(RUN) sample $(PIXEL_FLOW) --output $(RUNS)/pixel_flow_samples.png
	$(BIN)/python experiments/image_demo_summary.py $(RUNS)

# The discrete route beside the same baseline: reuses make demo's classifier and pixel flow
# (a finished workdir resumes at its last step), trains them if absent.
demo-image-vq: venv $(FASHION_MNIST)
	$(RUN) train $(CLASSIFIER)
	$(RUN) train $(PIXEL_FLOW)
	test -f $(RUNS)/pixel_flow/eval_test.json || $(RUN) evaluate $(PIXEL_FLOW) --config.eval_split=test
	$(RUN) train $(TOKENIZER)
	$(RUN) train $(PRIOR)
	$(RUN) train $(PIXEL_TWIN)
	$(RUN) evaluate $(TOKENIZER) --config.eval_split=test
	$(RUN) evaluate $(PRIOR) --config.eval_split=test
	$(RUN) evaluate $(PIXEL_TWIN) --config.eval_split=test
	$(RUN) sample $(PRIOR) --output $(RUNS)/vq_samples.png
	$(RUN) sample $(PIXEL_TWIN) --output $(RUNS)/pixel_twin_samples.png
	$(BIN)/python experiments/image_demo_summary.py $(RUNS)

demo-image: demo

demo-tts: venv $(SPEECH)
	$(RUN) train $(ACOUSTIC)
	$(RUN) train $(VOCODER)
	$(RUN) train $(TTS_DIRECT)
	$(RUN) evaluate $(VOCODER) --config.eval_split=test
	$(RUN) evaluate $(ACOUSTIC) --config.eval_split=test --config.stage1.workdir=$(TTS_RUNS)/vocoder
	$(RUN) evaluate $(TTS_DIRECT) --config.eval_split=test
	$(RUN) sample $(ACOUSTIC) --config.stage1.workdir=$(TTS_RUNS)/vocoder --text $(SENTENCE) \
	  --output $(TTS_RUNS)/regen_sample.wav
	$(RUN) sample $(TTS_DIRECT) --text $(SENTENCE) --output $(TTS_RUNS)/direct_sample.wav
	$(BIN)/python experiments/tts_demo_summary.py $(TTS_RUNS)

demo-asr: venv $(SPEECH)
	$(RUN) train $(P2G)
	$(RUN) train $(RECOGNIZER)
	$(RUN) train $(ASR_DIRECT)
	$(RUN) evaluate $(P2G) --config.eval_split=test
	# PocketSphinx hears the same recordings in both: the recognizer's evaluation scores it once.
	for split in test test_voice; do \
	  $(RUN) evaluate $(RECOGNIZER) --config.eval_split=$$split && \
	  $(RUN) evaluate $(ASR_DIRECT) --config.eval_split=$$split \
	    --config.score_pocketsphinx=False || exit 1; done
	echo $(SENTENCE) | text2wave -eval '(voice_kal_diphone)' -o $(HELD_OUT_WAV)
	$(RUN) sample $(RECOGNIZER) --audio $(HELD_OUT_WAV)
	$(RUN) sample $(ASR_DIRECT) --audio $(HELD_OUT_WAV)
	$(BIN)/python experiments/asr_demo_summary.py $(ASR_RUNS)

# Definitions of held-out WordNet lemmas: record -> plan -> definition beside record -> definition.
demo-text: venv $(WORDNET)
	$(RUN) train $(REALIZER)
	$(RUN) train $(PLANNER)
	$(RUN) train $(TEXT_DIRECT)
	$(RUN) evaluate $(REALIZER) --config.eval_split=test
	$(RUN) evaluate $(PLANNER) --config.eval_split=test
	$(RUN) evaluate $(TEXT_DIRECT) --config.eval_split=test
	$(RUN) sample $(PLANNER) --record $(RECORD) --output $(TEXT_RUNS)/regen_sample.txt
	$(RUN) sample $(TEXT_DIRECT) --record $(RECORD) --output $(TEXT_RUNS)/direct_sample.txt
	$(BIN)/python experiments/text_demo_summary.py $(TEXT_RUNS)

# Bach chorale melodies harmonised: melody -> chord template -> alto, tenor, bass beside melody ->
# alto, tenor, bass; the corpus is read from the music21 wheel.
demo-music: venv $(FLUIDSYNTH)
	$(RUN) train $(VOICING)
	$(RUN) train $(HARMONIZER)
	$(RUN) train $(MUSIC_DIRECT)
	$(RUN) evaluate $(VOICING) --config.eval_split=test
	$(RUN) evaluate $(HARMONIZER) --config.eval_split=test
	$(RUN) evaluate $(MUSIC_DIRECT) --config.eval_split=test
	$(RUN) sample $(HARMONIZER) --output $(MUSIC_RUNS)/regen_sample.musicxml \
	  --wav $(MUSIC_RUNS)/regen_sample.wav
	$(RUN) sample $(MUSIC_DIRECT) --output $(MUSIC_RUNS)/direct_sample.musicxml \
	  --wav $(MUSIC_RUNS)/direct_sample.wav
	$(BIN)/python experiments/music_template.py $(MUSIC_RUNS)/template.json > /dev/null
	$(BIN)/python experiments/music_demo_summary.py $(MUSIC_RUNS)

# Moving Fashion-MNIST (16x32x32 clips): one MaskGIT model, class + motion -> clip and first 4
# frames -> next 12, over a causal tokenizer's FSQ codes beside the same model over pixel patches.
demo-video: venv $(FASHION_MNIST)
	$(RUN) train $(VIDEO_TOKENIZER)
	$(RUN) train $(CLIP_CLASSIFIER)
	$(RUN) train $(VIDEO_PRIOR)
	$(RUN) train $(VIDEO_DIRECT)
	$(RUN) evaluate $(VIDEO_TOKENIZER) --config.eval_split=test
	$(RUN) evaluate $(CLIP_CLASSIFIER) --config.eval_split=test
	$(RUN) evaluate $(VIDEO_PRIOR) --config.eval_split=test
	$(RUN) evaluate $(VIDEO_DIRECT) --config.eval_split=test
	$(RUN) sample $(VIDEO_PRIOR) --output $(VIDEO_RUNS)/regen_classes.gif
	$(RUN) sample $(VIDEO_PRIOR) --clip $(CAMERA_CLIP) --output $(VIDEO_RUNS)/regen_camera_next.gif
	$(RUN) sample $(VIDEO_TOKENIZER) --output $(VIDEO_RUNS)/camera_reconstruction.gif
	$(BIN)/python experiments/video_demo_summary.py $(VIDEO_RUNS)

# Test modules spread over TEST_WORKERS processes, each module's tests in one (its fixtures
# train once); the session's tiny datasets are built once per worker.
TEST_WORKERS ?= 2
test: venv $(FASHION_MNIST) $(SPEECH) $(WORDNET)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope --durations=15 tests

test-slow: venv $(FASHION_MNIST) $(SPEECH) $(WORDNET)
	$(BIN)/python -m pytest -q --durations=15 -m slow tests

clean:
	rm -rf runs
