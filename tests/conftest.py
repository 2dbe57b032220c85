"""Shared fixtures: tiny offline datasets, built once per session in a temporary TFDS data dir."""

import os

import pytest

from regen_jax.data import fashion_mnist, pipeline, speech

DATASET = "regen_fashion_mnist/tiny"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("tfds"))
  fashion_mnist.RegenFashionMnist(config="tiny", data_dir=path,
                                  file_format="array_record").download_and_prepare()
  os.environ["TFDS_DATA_DIR"] = path  # subprocesses (CLI tests) read the same data
  return path


@pytest.fixture(scope="session")
def tiny_validation(data_dir):
  return pipeline.load_split(DATASET, "validation", data_dir)


@pytest.fixture(scope="session")
def speech_data_dir(data_dir):
  speech.RegenSpeech(config="tiny", data_dir=data_dir,
                     file_format="array_record").download_and_prepare()
  return data_dir
