# make demo: venv + install + the image domain end to end on offline Fashion-MNIST (~15 min, 2 CPU cores)
# make test: the test suite (what CI runs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNS ?= runs/demo
# The offline dataset is built once under runs/ (not in ~/tensorflow_datasets).
export TFDS_DATA_DIR ?= $(CURDIR)/runs/tensorflow_datasets
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
TRAIN := $(BIN)/python -m regen_jax train
EVAL := $(BIN)/python -m regen_jax evaluate --config.eval_split=test

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
	$(TRAIN) --config configs/image_classifier.py --workdir $(RUNS)/classifier
	$(TRAIN) --config configs/image_tokenizer.py --workdir $(RUNS)/tokenizer
	$(TRAIN) --config configs/image_prior.py:prior=maskgit --workdir $(RUNS)/prior \
	  --config.stage1_workdir=$(RUNS)/tokenizer --config.classifier_workdir=$(RUNS)/classifier
	$(TRAIN) --config configs/image_direct.py:prior=maskgit --workdir $(RUNS)/direct \
	  --config.classifier_workdir=$(RUNS)/classifier
	$(EVAL) --config configs/image_tokenizer.py --workdir $(RUNS)/tokenizer
	$(EVAL) --config configs/image_prior.py:prior=maskgit --workdir $(RUNS)/prior \
	  --config.stage1_workdir=$(RUNS)/tokenizer --config.classifier_workdir=$(RUNS)/classifier
	$(EVAL) --config configs/image_direct.py:prior=maskgit --workdir $(RUNS)/direct \
	  --config.classifier_workdir=$(RUNS)/classifier
	$(BIN)/python experiments/image_demo_summary.py $(RUNS)

test: venv $(FASHION_MNIST)
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf runs
