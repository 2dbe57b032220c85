"""The content plan: Y′ of text by rule.

A definition's plan is its content words in order: every word (a run of letters and digits, with
inner apostrophes or hyphens) that is not in `STOP_WORDS`, the English function words
(articles, pronouns, prepositions, conjunctions, auxiliary and modal verbs, and a few
quantifiers and adverbs of degree). Case is kept; punctuation is dropped. "a tower with a light
that gives warning of shoals to passing ships" -> "tower light gives warning shoals passing
ships". `RULE_VERSION` changes whenever the rule does (it is part of the plan's fingerprint).
"""

import re

RULE_VERSION = 1
STOP_WORDS = frozenset("""
a an the this that these those some any each every either neither no another such
i me my mine we us our ours you your yours he him his she her hers it its they them their theirs
one ones oneself itself himself herself themselves myself yourself ourselves who whom whose which
what whatever whoever where when why how there here
of in on at by for with without within from to into onto upon about above below over under
between among through throughout during before after since until till against along across
around behind beyond near toward towards off out up down via per than as like unlike
and or but nor so yet if then else because although though while whereas whether unless
be is are was were been being am do does did doing done have has had having
can could may might must shall should will would
not very too also just only more most less least much many few several all both other
""".split())
_WORD = re.compile(r"[A-Za-z0-9]+(?:['\-][A-Za-z0-9]+)*")


def words(text: str) -> list[str]:
  """The words of `text`, punctuation dropped."""
  return _WORD.findall(text)


def content_words(text: str) -> list[str]:
  return [word for word in words(text) if word.lower() not in STOP_WORDS]


def plan(text: str) -> str:
  """The plan of a definition: its content words in order, joined by spaces."""
  return " ".join(content_words(text))
