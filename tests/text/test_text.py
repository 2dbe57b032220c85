"""Text generation: the WordNet splits, the plan rule, the vocabulary, records, the trigram
model, decoding, and the three stages trained, evaluated and sampled through the CLI."""

import json
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from regen_jax.domains.text import data, decoding, metrics, plan, vocabulary, wordnet
from regen_jax.errors import UserError
from regen_jax.nn.transformer import TokenTransformer
from tests.helpers import assert_one_error_line, cli, logged

TINY = "regen_wordnet/tiny"
LIGHTHOUSE = '{"lemma": "lighthouse", "pos": "noun", "lexfile": "noun.artifact", "hypernym": "tower"}'


def test_splits_by_lemma_keep_every_held_out_lemma_out_of_training_records():
  splits = data.split_by_lemma(wordnet.read_synsets(wordnet.wordnet_dir()))
  held_out = {s.lemmas[0] for name in ("validation", "test") for s in splits[name]}
  assert 1500 < len(splits["test"]) < 4000 and len(splits["train"]) > 100_000
  assert not held_out & {s.lemmas[0] for s in splits["train"]}
  assert not held_out & {s.hypernym for s in splits["train"]}
  assert not {s.lemmas[0] for s in splits["validation"]} & {s.lemmas[0] for s in splits["test"]}


def test_definition_drops_usage_examples_and_plan_keeps_content_words_in_order():
  assert wordnet.definition('a sharp blow; "he gave it a whack"') == "a sharp blow"
  assert (plan.plan("a tower with a light that gives warning of shoals to passing ships")
          == "tower light gives warning shoals passing ships")
  assert plan.plan("of or relating to the sea, or to it") == "relating sea"


@pytest.fixture(scope="module")
def tiny_vocabulary(speech_data_dir):
  return vocabulary.of_dataset(TINY, speech_data_dir)


def test_vocabulary_encodes_any_character_by_byte_fallback_and_refuses_overlong_text(
    tiny_vocabulary):
  text = "café au lait, 日本 ⚓"
  ids = tiny_vocabulary.sequence(text, 64)
  assert vocabulary.UNKNOWN not in ids.tolist()
  assert ids[ids.tolist().index(vocabulary.END) + 1:].tolist() == [vocabulary.PAD] * (
      63 - ids.tolist().index(vocabulary.END))
  assert tiny_vocabulary.text(ids) == text
  with pytest.raises(vocabulary.TooLong):
    tiny_vocabulary.sequence(text, 4)


@pytest.mark.parametrize("record, fragment", [
    ("lighthouse", "is not JSON"), ('["lighthouse"]', "JSON object"),
    ('{"lemma": " ", "pos": "noun", "lexfile": "noun.artifact"}', "lemma is empty"),
    ('{"lemma": "x", "pos": "nom", "lexfile": "noun.artifact"}', "pos 'nom'"),
    ('{"lemma": "x", "pos": "verb", "lexfile": "noun.artifact"}', "not a lexicographer file"),
    ('{"lemma": "x", "pos": "noun", "lexfile": "noun.artifact", "gloss": "y"}', "unknown keys"),
    ('{"lemma": 3, "pos": "noun", "lexfile": "noun.artifact"}', "must be a string")])
def test_bad_records_are_refused_in_one_line(record, fragment):
  with pytest.raises(UserError, match=fragment.replace("(", r"\(")):
    vocabulary.parse_record(record)


def test_trigram_model_is_a_distribution_and_prefers_real_text():
  texts = ["a small dog that barks", "a large dog", "a small cat that purrs", "the cat sleeps"]
  model = metrics.TrigramModel(texts)
  words = sorted(model.unigram_types) + ["<unseen>"]
  for context in (("<s>", "<s>"), ("a", "small"), ("dog", "cat"), ("zebra", "quux")):
    total = sum(model.probability(*context, w) for w in words if w != "<s>")
    assert math.isclose(total, 1.0, rel_tol=1e-9), context
  assert model.perplexity(["a small dog"]) < model.perplexity(["dog small a"])
  assert metrics.plan_coverage(["a tower of light"], ["tower light ships"]) == pytest.approx(2 / 3)
  assert metrics.distinct(["a a a", "a b"], 1) == pytest.approx(2 / 5)


class _Prefix(nn.Module):
  length: int = 3

  @nn.compact
  def __call__(self, inputs):
    return nn.Embed(20, 16, name="prefix_embed")(inputs["x"])


def test_beam_of_one_and_a_tiny_nucleus_decode_as_greedy_and_beams_end_with_padding():
  model = TokenTransformer(vocab_size=20, tokens_per_position=1, num_positions=8,
                           condition=_Prefix(), width=16, depth=2, num_heads=2, causal=True)
  condition = {"x": jnp.array([[4, 5, 6], [7, 8, 9]])}
  params = model.init(jax.random.key(0), jnp.zeros((2, 8, 1), jnp.int32), condition)["params"]
  # Raise [END]'s logit so sequences end inside the window.
  params["head"]["bias"] = params["head"]["bias"].at[vocabulary.END].add(3.0)
  run = lambda **kw: np.asarray(decoding.decode(model.clone(decode=True), params, condition, 8,
                                                decoding.Strategy(**kw), jax.random.key(1)))
  greedy = run(name="greedy")
  np.testing.assert_array_equal(run(name="beam", beam_size=1), greedy)
  np.testing.assert_array_equal(run(name="nucleus", top_p=1e-6), greedy)
  assert any(vocabulary.END in row for row in greedy.tolist())
  for ids in (greedy, run(name="beam", beam_size=3), run(name="nucleus")):
    for row in ids.tolist():
      end = row.index(vocabulary.END) if vocabulary.END in row else len(row)
      assert vocabulary.PAD not in row[:end] and set(row[end + 1:]) <= {vocabulary.PAD}
  # A teacher-forced forward pass scores the beam's pick at least as high as greedy's.
  def score(ids):
    tokens = jnp.asarray(ids)[..., None]
    logits = model.apply({"params": params}, tokens[:, :-1], condition)[:, 2:, 0]
    log_probs = jax.nn.log_softmax(logits.at[..., vocabulary.PAD].set(-jnp.inf))
    picked = jnp.take_along_axis(log_probs, tokens[..., 0][..., None], -1)[..., 0]
    return np.asarray(jnp.where(jnp.asarray(ids) == vocabulary.PAD, 0, picked).sum(-1))
  assert (score(run(name="beam", beam_size=4, length_penalty=0.0)) >= score(greedy) - 1e-4).all()


@pytest.fixture(scope="module")
def trained_text(tmp_path_factory, speech_data_dir):
  """Realizer, planner and direct model trained once with the tiny configs."""
  root = tmp_path_factory.mktemp("text")
  steps = "--config.num_steps=40"
  cli("train", "text/realizer.py:test", root / "realizer", steps)
  cli("train", "text/planner.py:test", root / "planner", steps,
      f"--config.stage1.workdir={root / 'realizer'}")
  cli("train", "text/direct.py:test", root / "direct", steps)
  return root


def test_text_stages_learn_and_evaluate_every_decoding(trained_text):
  for stage in ("realizer", "planner", "direct"):
    losses = [row["loss"] for row in logged(trained_text / stage) if "loss" in row]
    assert losses[-1] < losses[0] - 0.5, (stage, losses)
  result = cli("evaluate", "text/planner.py:test", trained_text / "planner",
               f"--config.stage1.workdir={trained_text / 'realizer'}", "--config.eval_split=test")
  scores = json.loads(result.stdout.strip().splitlines()[-1])
  for strategy in ("greedy", "beam", "nucleus"):
    assert 0 <= scores[f"{strategy}_bleu"] <= 100 and scores[f"{strategy}_lm_perplexity"] > 1
    assert 0 <= scores[f"{strategy}_own_plan_coverage"] <= 1
  assert scores["greedy_num_examples"] > 10


def test_sample_defines_a_record_and_refuses_bad_ones_in_one_line(trained_text, tmp_path):
  link = f"--config.stage1.workdir={trained_text / 'realizer'}"
  out = tmp_path / "lighthouse.txt"
  cli("sample", "text/planner.py:test", trained_text / "planner", link, "--record", LIGHTHOUSE,
      "--output", str(out))
  lines = out.read_text().splitlines()
  assert lines[0].startswith("plan: ") and lines[1].startswith("definition: ")
  long_lemma = json.dumps({"lemma": "word " * 40, "pos": "noun", "lexfile": "noun.artifact"})
  for record, fragment in ((long_lemma, "too long"), ("{lemma", "not JSON"),
                           ('{"lemma": "x", "pos": "adverb", "lexfile": "adv.all"}', "pos")):
    bad = tmp_path / "bad.txt"
    result = cli("sample", "text/direct.py:test", trained_text / "direct", "--record", record,
                 "--output", str(bad), check=False)
    assert_one_error_line(result, fragment)
    assert not bad.exists()
