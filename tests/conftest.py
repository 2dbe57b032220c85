"""Shared fixtures: tiny offline datasets built once per session in a temporary TFDS data dir,
one XLA cache, and the tiny image stages trained once."""

import os

import jax
import pytest

from regen_jax.domains.image import data as image_data
from regen_jax.domains.speech import corpus
from regen_jax.domains.video import data as video_data
from tests.helpers import cli

DATASET = "regen_fashion_mnist/tiny"


@pytest.fixture(scope="session", autouse=True)
def compilation_cache(tmp_path_factory):
  """One persistent XLA cache for the session: the CLI subprocesses of a test compile the same
  programs again (reference run, killed run, resumed run), and this halves each later start."""
  settings = {"JAX_COMPILATION_CACHE_DIR": str(tmp_path_factory.mktemp("xla_cache")),
              "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
  os.environ.update(settings)  # for subprocesses
  jax.config.update("jax_compilation_cache_dir", settings["JAX_COMPILATION_CACHE_DIR"])
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("tfds"))
  image_data.RegenFashionMnist(config="tiny", data_dir=path,
                               file_format="array_record").download_and_prepare()
  os.environ["TFDS_DATA_DIR"] = path  # subprocesses (CLI tests) read the same data
  return path


@pytest.fixture(scope="session")
def tiny_validation(data_dir):
  return image_data.load(DATASET, "validation", data_dir)


@pytest.fixture(scope="session")
def speech_data_dir(data_dir):
  corpus.RegenSpeech(config="tiny", data_dir=data_dir,
                     file_format="array_record").download_and_prepare()
  return data_dir


@pytest.fixture(scope="session")
def video_data_dir(data_dir):
  video_data.RegenMovingFashion(config="tiny", data_dir=data_dir,
                                file_format="array_record").download_and_prepare()
  return data_dir


@pytest.fixture(scope="session")
def trained_image(tmp_path_factory, data_dir):
  """Classifier, tokenizer and MaskGIT prior trained once with the tiny configs (the image
  tests and the export's share them)."""
  root = tmp_path_factory.mktemp("image")
  dirs = {name: root / name for name in ("classifier", "tokenizer", "prior")}
  cli("train", "image/classifier.py:test", dirs["classifier"])
  cli("train", "image/tokenizer.py:test", dirs["tokenizer"], "--config.num_steps=40")
  cli("train", "image/prior.py:prior=maskgit,test", dirs["prior"],
      f"--config.stage1.workdir={dirs['tokenizer']}",
      f"--config.classifier.workdir={dirs['classifier']}")
  return dirs
