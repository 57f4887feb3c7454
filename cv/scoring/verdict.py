"""What a truthfulness check reports: a ``Claim`` (its kind and text) and a ``Verification`` (the claims nothing
the person gave supports; "verified" when there are none); and how the checks compare texts: words folded,
spans blanked, the vocabulary's aliases found.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from cv.scoring.vocabulary import TERMS, Term

# "contact" and "instructions" are what cv.llm.output_guard takes out of an output before this check reads it.
KINDS = ("organisation", "title", "date", "number", "credential", "keyword", "contact", "instructions")

VERIFIED = "verified"

FLAGGED = "flagged"

CREDENTIAL_WORDS = frozenset(
    "certified certification certificate licence license licensed accredited chartered practitioner".split()
)


@dataclass(frozen=True)
class Claim:
    kind: str
    text: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "text": self.text}


@dataclass(frozen=True)
class Verification:
    unsupported: tuple[Claim, ...] = ()

    @property
    def status(self) -> str:
        return FLAGGED if self.unsupported else VERIFIED

    def as_dict(self) -> dict:
        """The shape stored on an AI response: ``{status, unsupported: [{kind, text}]}``."""
        return {"status": self.status, "unsupported": [claim.as_dict() for claim in self.unsupported]}


def verified() -> dict:
    return Verification().as_dict()


def fold(word: str) -> str:
    """A word as compared: case, accents, possessive and a plural "s" do not matter."""
    word = unicodedata.normalize("NFKD", word.casefold())
    word = "".join(ch for ch in word if not unicodedata.combining(ch)).replace("\u2019", "'")
    # German spellings without umlauts (Universitaet) are the same word.
    word = word.replace("ae", "a").replace("oe", "o").replace("ue", "u")
    word = re.sub(r"'s?$", "", word).strip(".'-/&")
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word


def blank_out(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = [" " if ch != "\n" else ch for ch in chars[start:end]]
    return "".join(chars)


@lru_cache(maxsize=1)
def vocabulary_of() -> tuple[dict[str, Term], dict[str, set[str]], int]:
    """Terms by name, the term names of every alias in lower case, and the most words an alias has."""
    by_name = {term.name: term for term in TERMS}
    aliases: dict[str, set[str]] = {}
    for term in TERMS:
        for alias in (term.name, *term.aliases):
            aliases.setdefault(" ".join(alias.lstrip("=").lower().split()), set()).add(term.name)
    return by_name, aliases, max(len(alias.split()) for alias in aliases)


_ALIAS_TOKEN = re.compile(r"[\w.+#/&'-]*[\w+#]")

_PLURAL_END = re.compile(r"(?<=\w)e?s$")


@lru_cache(maxsize=1)
def _alias_lengths() -> dict[str, int]:
    """The most words of an alias, by the alias's first word."""
    longest: dict[str, int] = {}
    for alias in vocabulary_of()[1]:
        words = alias.split()
        longest[words[0]] = max(longest.get(words[0], 1), len(words))
    return longest


def alias_spans(text: str) -> list[tuple[int, int, set[str]]]:
    """Where the text names a vocabulary term (longest alias first, so "Looker" inside "Looker Studio" is not
    a term of its own), by looking word runs up in the alias table."""
    _, aliases, _ = vocabulary_of()
    longest_from = _alias_lengths()
    tokens = [(m.start(), m.end(), m.group(0).lower()) for m in _ALIAS_TOKEN.finditer(text)]
    spans = []
    i = 0
    while i < len(tokens):
        # Only as many words as the longest alias starting with this one (a word starts none: one word).
        for n in range(min(longest_from.get(tokens[i][2], 1), len(tokens) - i), 0, -1):
            run = tokens[i : i + n]
            # Only words next to each other form an alias ("Google, Ads" is not Google Ads).
            if any(text[a[1] : b[0]].strip() for a, b in pairwise(run)):
                continue
            phrase = " ".join(token for _, _, token in run)
            names = aliases.get(phrase) or aliases.get(_PLURAL_END.sub("", phrase))
            if names:
                spans.append((run[0][0], run[-1][1], names))
                i += n
                break
        else:
            i += 1
    return spans
