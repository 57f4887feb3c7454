"""What of a job text is not asked of the person (the employer, its offer, its self-description), how
strongly the rest is asked (required or preferred), and the job's own words around a keyword.
"""

from __future__ import annotations

import re
from functools import lru_cache

from cv.scoring.keywords import Span, alias_words
from cv.scoring.parse import common_words
from cv.scoring.vocabulary import TERMS
from cv.scoring.words import (
    GENERIC_WORDS,
    HEAD_STEMS,
    ROLE_WORDS,
    STOPWORDS,
    VERB_STEMS,
    Token,
    normalise,
    plain_word,
    stem,
)

# What the employer offers and who the employer is are not what the person is asked for.
_OFFER_HEADING = re.compile(
    r"^\W*(?:what we offer|we offer|what you(?:'ll| will) get|benefits|perks|our offer|in return|the package|"
    r"why join us|about us|about the (?:company|firm|practice|school|hotel|ward|trust|organisation|group)|"
    r"who we are)\b",
    re.IGNORECASE,
)

_OFFER_SENTENCE = re.compile(
    r"(?:^|(?<=[.!?:]\s))(?:we offer|we provide|benefits:|you will get)\b[^.!?\n]*", re.IGNORECASE | re.MULTILINE
)

_EMPLOYER_SENTENCE = re.compile(
    r"(?:^|(?<=\n))(?:[A-Z][\w&'.-]*\s){1,4}(?:is|are)\s(?:a|an|the)\s[^.!?\n]*(?:\.|$)", re.MULTILINE
)

_ASKED_FOR = re.compile(r"\b(?:is|are) (?:a|an) (?:must|plus|bonus|advantage|big plus|nice|huge|strong)\b", re.I)


def is_heading(line: str) -> bool:
    stripped = line.strip()
    return (
        bool(stripped)
        and not stripped.startswith(("-", "*", "•"))
        and (stripped.endswith(":") or (len(stripped.split()) <= 6 and not stripped.endswith((".", ",", ";"))))
    )


def not_asked(text: str) -> bytearray:
    """Characters of the job text that describe the employer or its offer rather than the person sought."""
    mask = bytearray(len(text) + 1)
    position = 0
    in_offer = False
    for line in text.split("\n"):
        if _OFFER_HEADING.match(line):
            in_offer = True
        elif is_heading(line):
            in_offer = False
        if in_offer:
            mask[position : position + len(line)] = b"\x01" * len(line)
        position += len(line) + 1
    for pattern in (_OFFER_SENTENCE, _EMPLOYER_SENTENCE):
        for match in pattern.finditer(text):
            if pattern is _EMPLOYER_SENTENCE and _ASKED_FOR.search(match.group(0)):
                continue
            mask[match.start() : match.end()] = b"\x01" * (match.end() - match.start())
    return mask


def shouting_lines(text: str) -> set[int]:
    """Lines written in capitals ("WHAT YOU WILL DO") are headings, not lists of abbreviations."""
    shouting = set()
    for number, line in enumerate(text.split("\n")):
        letters = re.sub(r"[^A-Za-z]", "", line)
        if len(letters) > 6 and len(re.sub(r"[^A-Z]", "", letters)) / len(letters) > 0.6:
            shouting.add(number)
    return shouting


_EMPLOYER_SUFFIX = re.compile(
    r"\b(?:LLC|L\.L\.C\.|Ltd|Limited|Inc|Incorporated|PLC|plc|GmbH|LLP|Corp|Corporation|Company|Co\.|Group|"
    r"Health|Hospital|Trust|University|College|Council|Associates)\b\.?$"
)

_NAME = r"(?:[A-Z][\w&'.-]*)(?:\s+(?:of\s+|&\s+|and\s+|de\s+)?[A-Z][\w&'.-]*){0,4}"

# "at Acme", "join Acme", "Acme is a ...", "Acme's": how a job names its employer.
_EMPLOYER_CUE = re.compile(
    rf"\b(?:at|join|joining|with us at|about)\s+(?:the\s+)?(?P<after>{_NAME})"
    rf"|(?:^|(?<=[.!?]\s)|(?<=\n))(?:the\s+|The\s+)?(?P<before>{_NAME})\s+(?:is|are)\s+"
    r"(?:a|an|the|one|looking|seeking|hiring|recruiting|committed|proud|based|headquartered)\b"
    rf"|(?P<own>{_NAME})'s\b"
)

_EDGE_LINES = 4


def _word_or_standard(name: str, text: str) -> bool:
    """A one-word name that is an everyday word opening lines ("Typical education: ...") or a code written with
    a number, a standard ("NFPA 70E"): used again, neither makes an employer."""
    if " " in name:
        return False
    return name.lower() in common_words() or re.search(rf"\b{re.escape(name)}\s+\d", text) is not None


def employer_words(tokens: list[Token], text: str) -> frozenset[str]:
    """The plain words of the employer's name, inferred (the questionnaire has no company field): a capitalised
    name that the job names as its employer ("at X", "X is a ...", "X's") or that stands in its first or last
    lines and again elsewhere, or a line of its first or last lines ending in a company suffix ("LLC", "Ltd")."""
    lines = text.split("\n")
    filled = [number for number, line in enumerate(lines) if line.strip()]
    edges = set(filled[:_EDGE_LINES] + filled[-_EDGE_LINES:])
    named: set[str] = set()  # names with a company suffix: the employer for certain
    cued: set[str] = set()  # names the job uses as its employer's
    counts: dict[str, int] = {}
    edge_names: set[str] = set()
    for number, line in enumerate(lines):
        for match in re.finditer(_NAME, line):
            name = match.group(0)
            counts[name] = counts.get(name, 0) + 1
            if number in edges:
                edge_names.add(name)
                if _EMPLOYER_SUFFIX.search(name):
                    named.add(_EMPLOYER_SUFFIX.sub("", name))
    for match in _EMPLOYER_CUE.finditer(text):
        name = match.group("after") or match.group("before") or match.group("own")
        if name:
            cued.add(name)
    # A name the first or last lines give and the text uses again (the title lines name the role, which
    # the checks below keep out).
    cued.update(name for name in edge_names if counts[name] >= 2 and not _word_or_standard(name, text))
    words: set[str] = set()
    known = _known_plains()
    for name in named:
        words.update(w for w in _name_plains(name) if w not in GENERIC_WORDS)
    for name in cued:
        content = _name_plains(name)
        # A known term, a generic word, a role or a skill ("Python is a must", "Experience is", "Nurses are",
        # "Stormwater Management Engineer") is not an employer.
        if not content or any(w in known or w in GENERIC_WORDS or w in ROLE_WORDS for w in content):
            continue
        if any(stem(w) in HEAD_STEMS or stem(w) in VERB_STEMS for w in content):
            continue
        words.update(content)
    return frozenset(words)


def _name_plains(name: str) -> list[str]:
    return [plain_word(w) for w in alias_words(name) if w not in ("&", "/") and plain_word(w) not in STOPWORDS]


@lru_cache(maxsize=1)
def _known_plains() -> frozenset[str]:
    """The plain words of the vocabulary's names and aliases: a known term is not an employer's name."""
    plains: set[str] = set()
    for term in TERMS:
        for name in (term.name, *term.aliases):
            plains.update(plain_word(w) for w in alias_words(name.lstrip("=")))
    return frozenset(plains)


_PREFERRED = re.compile(
    r"\b(?:nice[ -]to[ -]have|preferred|preferably|a plus|an? (?:big |huge )?(?:plus|bonus|advantage)|bonus|"
    r"desirable|desired|ideally|advantageous|would be (?:great|good|helpful|beneficial))\b",
    re.IGNORECASE,
)


def preferred_lines(text: str) -> list[bool]:
    """Per line: whether it sits under a heading that asks for nice-to-haves ("Preferred qualifications",
    "Nice to have:")."""
    flags = []
    under_preferred = False
    for line in text.split("\n"):
        if is_heading(line) and not re.search(r"\b(?:is|are)\b", line):
            under_preferred = bool(_PREFERRED.search(line))
        flags.append(under_preferred)
    return flags


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence (or list line) around text[start:end]."""
    left = max(text.rfind(mark, 0, start) for mark in (". ", "; ", "\n", "! ", "? ")) + 1
    rights = [p for p in (text.find(mark, end) for mark in (". ", "; ", "\n", "! ", "? ")) if p != -1]
    right = min(rights) if rights else len(text)
    return left, right


def preferred_near(text: str, tokens: list[Token], index: int) -> bool:
    return preferred_near_span(text, tokens[index].start, tokens[index].end)


def preferred_near_span(text: str, start: int, end: int) -> bool:
    """The sentence (or list line) around text[start:end] calls it a plus, preferred, desirable..."""
    left, right = _sentence_bounds(text, start, end)
    return bool(_PREFERRED.search(text, left, right))


# A job quote is at most this long on each side of the term.
_QUOTE_SIDE = 60


def quote_span(text: str, start: int, end: int) -> Span:
    """Where the job's own words around text[start:end] are: its sentence or list line, cut to a window on a
    long line, without a list marker or closing punctuation."""
    left, right = _sentence_bounds(text, start, end)
    if start - left > _QUOTE_SIDE:
        space = text.find(" ", start - _QUOTE_SIDE, start)
        left = space + 1 if space != -1 else start
    if right - end > _QUOTE_SIDE:
        space = text.rfind(" ", end, end + _QUOTE_SIDE)
        right = space if space != -1 else end
    while left < start and text[left] in " \t-*\u2022\u00b7":
        left += 1
    while right > end and text[right - 1] in " \t.,;:":
        right -= 1
    return left, right


def original_slice(original: str, normalised: str, start: int, end: int) -> str:
    """text[start:end] as the person wrote it: normalising keeps positions unless a character was expanded
    (a ligature), in which case the normalised words are the quote."""
    if len(original) == len(normalised) and normalise(original[start:end]) == normalised[start:end]:
        return original[start:end]
    return normalised[start:end]


def quote_around(job_text: str, start: int, end: int) -> str:
    """The job's own words around ``normalise(job_text)[start:end]``: the quote ``job_requirements`` gives."""
    text = normalise(job_text)
    return original_slice(job_text, text, *quote_span(text, start, end))
