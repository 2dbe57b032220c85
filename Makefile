# make demo: venv + install + the image domain end to end on offline Fashion-MNIST (2 CPU cores)
# make test: the test suite (what CI runs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNS ?= runs/demo
# The offline dataset is built once under runs/ (not in ~/tensorflow_datasets).
export TFDS_DATA_DIR ?= $(CURDIR)/runs/tensorflow_datasets
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

RUN := $(BIN)/python -m regen_jax
CLASSIFIER := --config configs/image_classifier.py --workdir $(RUNS)/classifier
TOKENIZER := --config configs/image_tokenizer.py --workdir $(RUNS)/tokenizer
PRIOR := --config configs/image_prior.py:prior=maskgit --workdir $(RUNS)/prior \
  --config.stage1_workdir=$(RUNS)/tokenizer --config.classifier_workdir=$(RUNS)/classifier
DIRECT := --config configs/image_direct.py:prior=maskgit --workdir $(RUNS)/direct \
  --config.classifier_workdir=$(RUNS)/classifier

.PHONY: demo test venv clean

venv: $(BIN)/.installed
$(BIN)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# Fashion-MNIST as Debian ships it (the original IDX files).
$(FASHION_MNIST):
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dataset-fashion-mnist

demo: venv $(FASHION_MNIST)
	$(RUN) train $(CLASSIFIER)
	$(RUN) train $(TOKENIZER)
	$(RUN) train $(PRIOR)
	$(RUN) train $(DIRECT)
	$(RUN) evaluate $(CLASSIFIER) --config.eval_split=test
	$(RUN) evaluate $(TOKENIZER) --config.eval_split=test
	$(RUN) evaluate $(PRIOR) --config.eval_split=test
	$(RUN) evaluate $(DIRECT) --config.eval_split=test
	$(RUN) sample $(PRIOR) --output $(RUNS)/regen_samples.png
	$(RUN) sample $(DIRECT) --output $(RUNS)/direct_samples.png
	$(BIN)/python experiments/image_demo_summary.py $(RUNS)

test: venv $(FASHION_MNIST)
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf runs
