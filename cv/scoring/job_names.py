"""Keywords a job names in two fixed shapes, whatever the trade: a term defined with its abbreviation
("Variable frequency drive (VFD)") and a credential named by its head word ("Journeyman electrician license",
"a valid driving licence").
"""

from __future__ import annotations

import re

from cv.scoring.keywords import Keyword, vocabulary_spans
from cv.scoring.words import (
    ACRONYM,
    GENERIC_WORDS,
    ROLE_WORDS,
    STOPWORDS,
    Mark,
    Marks,
    Token,
    is_content,
    looks_like_code,
)

_MAX_LONG_FORM_CHARS = 120

# Words an abbreviation's letters may pass over: "Hazard Analysis and Critical Control Points (HACCP)".
_LINK_WORDS = frozenset({"and", "of", "&", "for", "the", "in", "to"})


def defined_abbreviations(tokens: list[Token], text: str, marks: Marks) -> list[tuple[int, int, Keyword]]:
    """A run of words and the abbreviation of their initials, one of them in brackets after the other: one
    keyword shown as both ("variable frequency drive (VFD)", "SCRP (scaling and root planing)"), found in a CV
    by either. A job title so defined ("construction managers (CM)") is no requirement: both are left out."""
    kept: list[tuple[int, int, Keyword]] = []
    for i, token in enumerate(tokens):
        if not ACRONYM.match(token.text) or not marks.free(i):
            continue
        abbreviation = token.text[:-1] if token.text.endswith("s") and token.text[:-1].isupper() else token.text
        span = _defined_before(tokens, text, i, abbreviation) or _defined_after(tokens, text, i, abbreviation)
        if span is None or not marks.free(span[0], span[1]):
            continue
        start, end, long_start, long_end = span
        if tokens[long_end - 1].text.lower() in ROLE_WORDS:
            marks.set(start, end, Mark.NOT_ASKED)
            continue
        long_form = " ".join(t.text if looks_like_code(t) else t.text.lower() for t in tokens[long_start:long_end])
        marks.set(start, end, Mark.TAKEN)
        keyword = Keyword(
            term=f"{long_form} ({token.text})" if long_start == start else f"{token.text} ({long_form})",
            kind="skill",
            aliases=(long_form, abbreviation),
            source="code",
        )
        kept.append((start, end, keyword))
    return kept


def _defined_before(tokens: list[Token], text: str, i: int, abbreviation: str) -> tuple[int, int, int, int] | None:
    """(start, end, long form's start, its end) of "long form (ABBR)", the abbreviation at token ``i``."""
    if not i or text[tokens[i - 1].end : tokens[i].start].strip() != "(" or not text[tokens[i].end :].startswith(")"):
        return None
    start = _initials_start(tokens, i, abbreviation.upper())
    if start is None or tokens[start].line != tokens[i].line:
        return None
    return start, i + 1, start, i


def _defined_after(tokens: list[Token], text: str, i: int, abbreviation: str) -> tuple[int, int, int, int] | None:
    """The same for "ABBR (long form)": the words in the brackets spell the abbreviation, and nothing else."""
    after = text[tokens[i].end :]
    opening = re.match(r"\s*\(", after)
    if opening is None:
        return None
    # The long form is a few words: a bracket further on is not this one's ("AB ( AB ( ... )").
    closing = text.find(")", tokens[i].end + opening.end(), tokens[i].end + _MAX_LONG_FORM_CHARS)
    if closing == -1:
        return None
    end = i + 1
    while end < len(tokens) and tokens[end].end <= closing:
        end += 1
    if end == i + 1 or _initials_start(tokens, end, abbreviation.upper()) != i + 1:
        return None
    return i, end, i + 1, end


def _initials_start(tokens: list[Token], at: int, letters: str) -> int | None:
    """Where the words whose initials spell ``letters`` start, reading back from the bracket at ``at``."""
    wanted = [ch for ch in letters if ch.isalpha()]
    k = at - 1
    while wanted and k >= 0:
        word = tokens[k].text
        if word.lower() in _LINK_WORDS:
            k -= 1
            continue
        if not word[:1].isalpha() or word[0].upper() != wanted[-1]:
            return None
        wanted.pop()
        k -= 1
    if wanted or k + 1 >= at:
        return None
    return k + 1


_CREDENTIAL_HEADS = frozenset(
    "license licence certification certificate card registration endorsement apprenticeship".split()
)

# "a valid driving licence": the licence asked for is the driving licence.
_QUALIFIERS = frozenset("valid current full clean relevant appropriate recognised recognized active".split())

_MAX_NAME_WORDS = 4


def credential_phrases(tokens: list[Token], marks: Marks) -> list[tuple[int, int, Keyword]]:
    """The words before a credential's head word in the same clause ("Journeyman electrician license", "CDL
    Class A license"), up to four, with the head: a credential asked for by name. Read before the vocabulary,
    which would take "electrician" alone; left to it when it knows more of the credential than its trade."""
    kept: list[tuple[int, int, Keyword]] = []
    for head, token in enumerate(tokens):
        if token.plain not in _CREDENTIAL_HEADS and token.text.lower() not in _CREDENTIAL_HEADS:
            continue
        start = head
        while (
            start > 0
            and head - start < _MAX_NAME_WORDS
            and tokens[start - 1].clause == token.clause
            and marks.free(start - 1)
            and _name_word(tokens[start - 1])
        ):
            start -= 1
        while start < head and tokens[start].text.lower() in _QUALIFIERS:
            start += 1
        if start == head or not marks.free(start, head + 1):
            continue
        # The vocabulary reads what it knows ("full UK driving licence", "PASMA certificates"), unless all it
        # knows there is the trade the credential is for ("Journeyman electrician license").
        window = tokens[start : head + 1]
        known = vocabulary_spans(window, by_stem=False)
        if any(window[e - 1].text.lower() not in ROLE_WORDS for _, e, _ in known):
            continue
        words = [t.text if looks_like_code(t) or k else t.text.lower() for k, t in enumerate(tokens[start : head + 1])]
        if tokens[start].text[:1].isupper() and not looks_like_code(tokens[start]) and len(words) > 1:
            words[0] = tokens[start].text
        marks.set(start, head + 1, Mark.TAKEN)
        kept.append((start, head + 1, Keyword(term=" ".join(words), kind="credential", source="phrase")))
    return kept


def _name_word(token: Token) -> bool:
    word = token.text.lower()
    if looks_like_code(token) or re.fullmatch(r"\d{1,4}[A-Za-z]?|[A-Z]", token.text):
        return True
    return (is_content(token) or word in _QUALIFIERS) and word not in STOPWORDS and word not in GENERIC_WORDS
