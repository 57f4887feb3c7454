"""Truthfulness: which claims of an improved CV nothing the person gave supports.

``verify_rewrite`` compares the improved CV with the uploaded CV's text plus the person's own request (which
may add facts) and lists the organisations, job titles, dates, numbers, degrees and certifications, and
recruiter keywords the improved CV states without support. It is deterministic, offline and fast; it
normalises what a faithful rewrite changes (case, punctuation, dashes, "present"/"current", number words,
thousands separators and "5k", "%"/"percent", the vocabulary's aliases, "Bachelor of Science"/"BSc") so
reordering and rephrasing raise no alarm.

It reads claims, not meaning: a claim is a concrete token (a year, a number, a capitalised name, a degree,
a vocabulary term), and it is supported when the person's text has the same token. Names starting a
sentence in prose are not read (they are usually verbs: "Led", "Built"); names in role lines (a line with
a year, or a heading in the experience or education sections) always are.

Pure and offline: the repair round that acts on its findings is cv.llm.verification's.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from cv.scoring import matching
from cv.scoring.vocabulary import TERMS, Term
from cv.text import patterns

# "contact" and "instructions" are what cv.llm.output_guard takes out of an output before this check reads it.
KINDS = ("organisation", "title", "date", "number", "credential", "keyword", "contact", "instructions")
VERIFIED = "verified"
FLAGGED = "flagged"

_EMAIL = patterns.EMAIL
_URL = re.compile(r"\b(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|dev|co|uk|de)/\S*", re.I)
_PHONE = patterns.PHONE_ON_ONE_LINE
_LIST_MARKER = re.compile(r"^(\s*)(?:[-*+•]|\d{1,2}[.)])\s+", re.M)
_EMPHASIS = re.compile(r"\*\*|__|[*`]|(?<!\w)_|_(?!\w)")

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
    "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_YEAR = r"(?:19[5-9]\d|20[0-4]\d)"
_OPEN_END = r"(?:present|current|now|today|date|ongoing)"
_RANGE = re.compile(
    rf"(?<![\w.])(?:(?P<m1>{_MONTH})\s+)?(?P<y1>{_YEAR})\s*(?:-|to|until|till)\s*"
    rf"(?:(?:(?P<m2>{_MONTH})\s+)?(?P<y2>{_YEAR})(?![\d])|(?P<yy>\d{{2}})(?![\w])|(?P<open>{_OPEN_END})\b)",
    re.I,
)
_SINCE = re.compile(rf"\bsince\s+(?:(?P<m1>{_MONTH})\s+)?(?P<y1>{_YEAR})\b", re.I)
_MONTH_YEAR = re.compile(rf"(?<![\w])(?P<m>{_MONTH})\s+(?P<y>{_YEAR})\b", re.I)
_YEAR_ALONE = re.compile(rf"(?<![\w.,/$£€]){_YEAR}(?![\w%/]|[.,]\d)")

_NUMBER = re.compile(
    r"(?<![\w.,/#:+-])(?P<cur>[$£€]\s?)?(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:[.,](?P<dec>\d+))?(?![\d/])"
    r"(?:\s?(?P<mult>k|m|mn|bn|thousand|million|billion)\b)?(?:\s?(?P<pct>%|percent\b|per\s?cent\b))?",
    re.I,
)
_PERCENT_AFTER = re.compile(r"\s?(?:%|percent\b|per\s?cent\b)", re.I)
_MULTIPLIERS = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}
_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_NUMBER_WORD = re.compile(
    rf"\b(?P<tens>{'|'.join(_TENS)})(?:[\s-](?P<unit>{'|'.join(k for k in _UNITS if _UNITS[k] < 10)}))?\b"
    rf"|\b(?P<small>{'|'.join(_UNITS)})\b",
    re.I,
)
# "one" is an article as often as a number ("one of the"); it supports a 1 but is never a claim itself.
_NOT_A_NUMBER_CLAIM = {1.0}

_DEGREES = {
    "bsc": "bachelor", "ba": "bachelor", "beng": "bachelor", "bba": "bachelor", "llb": "bachelor",
    "bachelor": "bachelor", "msc": "master", "ma": "master", "meng": "master", "mba": "master", "mphil": "master",
    "llm": "master", "master": "master", "phd": "doctorate", "dphil": "doctorate", "doctorate": "doctorate",
    "hnd": "diploma", "diploma": "diploma",
}  # fmt: skip
_DEGREE_LONG = (
    (re.compile(r"\bbachelor(?:'s)?\s+of\s+science\b", re.I), "BSc"),
    (re.compile(r"\bbachelor(?:'s)?\s+of\s+arts\b", re.I), "BA"),
    (re.compile(r"\bbachelor(?:'s)?\s+of\s+engineering\b", re.I), "BEng"),
    (re.compile(r"\bmaster(?:'s)?\s+of\s+science\b", re.I), "MSc"),
    (re.compile(r"\bmaster(?:'s)?\s+of\s+arts\b", re.I), "MA"),
    (re.compile(r"\bmaster(?:'s)?\s+of\s+engineering\b", re.I), "MEng"),
    (re.compile(r"\bmaster(?:'s)?\s+of\s+business\s+administration\b", re.I), "MBA"),
    (re.compile(r"\bdoctor\s+of\s+philosophy\b", re.I), "PhD"),
)
_DEGREE = re.compile(
    r"(?<![\w.])(?P<deg>B\.?\s?Sc|M\.?\s?Sc|B\.?A|M\.?A|B\.?Eng|M\.?Eng|MBA|BBA|Ph\.?\s?D|D\.?Phil|M\.?Phil|LLB|LLM|HND"
    r"|[Bb]achelor(?:'s)?|[Mm]aster(?:'s)?|[Dd]octorate|[Dd]iploma)(?![\w])\.?"
)
_DEGREE_SUBJECT = re.compile(r"(?:\s*\(\w+\))?(?:\s+(?:in|of))?((?:[ \t]+[A-Z][\w&'-]*(?:[ \t]+(?:and|&|of))?)*)")
_GRADE = re.compile(r"\b(?:hons|honours|honors|first[- ]class|distinction|cum laude|summa|magna)\b", re.I)

_TITLE_WORDS = frozenset(
    """engineer developer programmer manager lead head director coordinator intern analyst consultant designer
    architect officer specialist executive scientist administrator assistant associate principal staff senior
    junior chief vp president founder co-founder cto ceo cfo coo cmo owner advisor adviser strategist
    researcher technician accountant teacher nurse supervisor representative editor writer marketer producer
    recruiter trainee apprentice fellow contractor freelancer tester manageress partner""".split()
)
_CREDENTIAL_WORDS = frozenset(
    "certified certification certificate licence license licensed accredited chartered practitioner".split()
)
_ORG_SUFFIXES = frozenset("ltd limited inc incorporated llc gmbh plc corp co ag sa bv".split())
# "and" joins two names more often than it is part of one ("Google and Amazon"); "&" is part of one.
_CONNECTORS = frozenset("of & the de der des du la le für fur".split())
_NOT_NAMES = frozenset(
    """i present current now today remote hybrid onsite on-site full-time part-time monday tuesday wednesday
    thursday friday saturday sunday january february march april may june july august september october
    november december jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)
_ORG_PREPOSITIONS = frozenset("at for with joined from by client clients partner partners including".split())
_SENTENCE_END = re.compile(r"[.!?:;|·•—]\s*$|\s-\s*$|\(\s*$")
_TOKEN = re.compile(r"[^\W\d_][\w'.+#&/-]*", re.UNICODE)
_ROLE_SECTIONS = {"experience", "education", "certifications", "projects"}
_MAX_ROLE_LINE_WORDS = 16


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


def _fold(word: str) -> str:
    """A word as compared: case, accents, possessive and a plural "s" do not matter."""
    word = unicodedata.normalize("NFKD", word.casefold())
    word = "".join(ch for ch in word if not unicodedata.combining(ch)).replace("\u2019", "'")
    # German spellings without umlauts (Universitaet) are the same word.
    word = word.replace("ae", "a").replace("oe", "o").replace("ue", "u")
    word = re.sub(r"'s?$", "", word).strip(".'-/&")
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word


def _prepare(text: str) -> str:
    """Plain text: typographic variants folded, Markdown emphasis and list markers and contact details gone."""
    text = matching.normalise(text).replace("\u2019", "'")
    for pattern, short in _DEGREE_LONG:
        text = pattern.sub(short, text)
    text = _EMAIL.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _PHONE.sub(lambda m: " " if 9 <= sum(ch.isdigit() for ch in m.group(0)) <= 15 else m.group(0), text)
    text = _LIST_MARKER.sub(r"\1", text)
    return _EMPHASIS.sub(" ", text)


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = [" " if ch != "\n" else ch for ch in chars[start:end]]
    return "".join(chars)


def _year(two_digits: str, start: int) -> int:
    century = start - start % 100
    year = century + int(two_digits)
    return year if year >= start else year + 100


@dataclass
class _Dates:
    ranges: set[tuple[int, str]]
    years: set[int]
    month_years: set[tuple[int, int]]
    range_spans: list[tuple[int, int, tuple[int, str]]]
    year_spans: list[tuple[int, int, int]]
    month_spans: list[tuple[int, int, tuple[int, int]]]


def _month(name: str | None) -> int | None:
    return _MONTHS.get(name.lower()[:3]) if name else None


def _dates(text: str) -> _Dates:
    ranges: set[tuple[int, str]] = set()
    range_spans = []
    for pattern in (_RANGE, _SINCE):
        for match in pattern.finditer(text):
            start = int(match.group("y1"))
            groups = match.groupdict()
            if groups.get("y2"):
                end = groups["y2"]
            elif groups.get("yy"):
                end = str(_year(groups["yy"], start))
            else:
                end = "present"
            ranges.add((start, end))
            range_spans.append((match.start(), match.end(), (start, end)))
    month_spans = [
        (m.start(), m.end(), (_month(m.group("m")) or 0, int(m.group("y")))) for m in _MONTH_YEAR.finditer(text)
    ]
    year_spans = [(m.start(), m.end(), int(m.group(0))) for m in _YEAR_ALONE.finditer(text)]
    years = {year for _, _, year in year_spans}
    years |= {start for start, _ in ranges} | {int(end) for _, end in ranges if end.isdigit()}
    return _Dates(
        ranges=ranges,
        years=years,
        month_years={value for _, _, value in month_spans},
        range_spans=range_spans,
        year_spans=year_spans,
        month_spans=month_spans,
    )


def _date_claims(improved: str, support: _Dates) -> tuple[list[Claim], list[tuple[int, int]]]:
    found = _dates(improved)
    claims: list[Claim] = []
    covered: list[tuple[int, int]] = []
    for start, end, value in found.range_spans:
        covered.append((start, end))
        if value not in support.ranges:
            claims.append(Claim("date", improved[start:end].strip()))
    # Which characters lie in a flagged range, and in any range or month: one pass over the spans, where asking
    # every span for every date took seconds on a CV full of dates.
    flagged = _mask(len(improved), ((s, e) for s, e, v in found.range_spans if v not in support.ranges))
    dated = _mask(len(improved), ((s, e) for s, e, _ in found.range_spans + found.month_spans))
    for start, end, month_year in found.month_spans:
        if month_year not in support.month_years and not flagged[start]:
            claims.append(Claim("date", improved[start:end].strip()))
    for start, end, year in found.year_spans:
        covered.append((start, end))
        if dated[start]:
            continue
        if year not in support.years:
            claims.append(Claim("date", str(year)))
    return claims, covered


def _mask(length: int, spans: Iterable[tuple[int, int]]) -> bytearray:
    """One byte per character of a text, 1 inside any of ``spans``."""
    inside = bytearray(length)
    for start, end in spans:
        inside[start:end] = b"\x01" * (end - start)
    return inside


def _number_value(match: re.Match[str]) -> tuple[float, str]:
    whole = match.group("int").replace(",", "")
    value = float(f"{whole}.{match.group('dec')}") if match.group("dec") else float(whole)
    if match.group("mult"):
        value *= _MULTIPLIERS[match.group("mult").lower()]
    kind = "percent" if match.group("pct") else "money" if match.group("cur") else "plain"
    return round(value, 6), kind


def _numbers(text: str) -> list[tuple[int, int, float, str]]:
    found = []
    for match in _NUMBER.finditer(text):
        value, kind = _number_value(match)
        found.append((match.start(), match.end(), value, kind))
    for match in _NUMBER_WORD.finditer(text):
        if match.group("small"):
            value = float(_UNITS[match.group("small").lower()])
        else:
            unit = match.group("unit")
            value = float(_TENS[match.group("tens").lower()] + (_UNITS[unit.lower()] if unit else 0))
        end = match.end()
        pct = _PERCENT_AFTER.match(text, end)
        found.append((match.start(), pct.end() if pct else end, value, "percent" if pct else "plain"))
    return found


def _number_claims(improved: str, support: str) -> list[Claim]:
    supported: dict[float, set[str]] = {}
    for _, _, value, kind in _numbers(support):
        supported.setdefault(value, set()).add(kind)
    claims = []
    for start, end, value, kind in _numbers(improved):
        kinds = supported.get(value, set())
        # A bare number is backed by the same value in any form; a percentage or an amount needs the same kind
        # (40% of coverage is not 40 minutes).
        ok = bool(kinds) if kind == "plain" else kind in kinds or (kind == "money" and "plain" in kinds)
        if not ok and value not in _NOT_A_NUMBER_CLAIM:
            claims.append(Claim("number", improved[start:end].strip()))
    return claims


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[dict[str, Term], dict[str, set[str]], int]:
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
    for alias in _vocabulary()[1]:
        words = alias.split()
        longest[words[0]] = max(longest.get(words[0], 1), len(words))
    return longest


def _alias_spans(text: str) -> list[tuple[int, int, set[str]]]:
    """Where the text names a vocabulary term (longest alias first, so "Looker" inside "Looker Studio" is not
    a term of its own), by looking word runs up in the alias table."""
    _, aliases, _ = _vocabulary()
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


def _stated_directly(text: str) -> set[str]:
    return {name for _, _, names in _alias_spans(text) for name in names}


@lru_cache(maxsize=64)
def _job_extra_keywords(job_text: str) -> tuple[str, ...]:
    by_name = _vocabulary()[0]
    return tuple(keyword for keyword in matching.job_keywords(job_text) if keyword not in by_name)


def _is_credential_term(term: object) -> bool:
    return "certification" in {getattr(term, "category", None), getattr(term, "kind", None)} or (
        getattr(term, "kind", None) == "credential"
    )


def _closure(names: Iterable[str], by_name: Mapping[str, object]) -> set[str]:
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        term = by_name.get(name)
        for implied in getattr(term, "implies", ()) if term else ():
            if implied not in seen:
                seen.add(implied)
                pending.append(implied)
    return seen


@lru_cache(maxsize=8)
def _covered(text: str, candidates: tuple[str, ...]) -> frozenset[str]:
    # The person's text is the same for an answer and its repair: read it once.
    return frozenset(matching.cv_keywords(text, candidates))


def _keyword_claims(improved: str, support: str, job_text: str) -> list[Claim]:
    by_name, _, _ = _vocabulary()
    candidates = list(by_name)
    if job_text:
        candidates += _job_extra_keywords(job_text)
    stated = matching.cv_keywords(improved, candidates)
    backed = _covered(support, tuple(candidates))
    unsupported = [name for name in candidates if name in stated and name not in backed]
    # A broader term reached only through a narrower unsupported one is the same claim, said once.
    implied = _closure(unsupported, by_name) - _stated_directly(improved)
    claims = []
    for name in unsupported:
        if name in implied:
            continue
        kind = "credential" if _is_credential_term(by_name.get(name)) else "keyword"
        claims.append(Claim(kind, name))
    return claims


def _credential_claims(improved: str, support: str, known: set[str]) -> tuple[list[Claim], list[tuple[int, int]]]:
    support_degrees = {_degree_key(m.group("deg")) for m in _DEGREE.finditer(support)}
    support_levels = {_DEGREES[d] for d in support_degrees}
    support_grades = {_fold(m.group(0)) for m in _GRADE.finditer(support)}
    claims: list[Claim] = []
    spans: list[tuple[int, int]] = []
    for match in _DEGREE.finditer(improved):
        key = _degree_key(match.group("deg"))
        generic = key in {"bachelor", "master", "doctorate", "diploma"}
        ok = key in support_degrees or (generic and _DEGREES[key] in support_levels)
        # The subject named after the degree ("MSc Data Science") is part of the claim.
        subject = _DEGREE_SUBJECT.match(improved, match.end())
        end = subject.end() if subject else match.end()
        words = [w for w in re.findall(r"[\w'-]+", subject.group(1) if subject else "") if w.lower() not in _CONNECTORS]
        ok = ok and all(_fold(w) in known for w in words)
        spans.append((match.start(), end))
        if not ok:
            claims.append(Claim("credential", " ".join(improved[match.start() : end].split())))
    for match in _GRADE.finditer(improved):
        if _fold(match.group(0)) not in support_grades:
            claims.append(Claim("credential", match.group(0)))
        spans.append((match.start(), match.end()))
    return claims, spans


def _degree_key(raw: str) -> str:
    key = re.sub(r"[\s.']", "", raw).lower()
    return key[:-1] if key.endswith("s") and key[:-1] in _DEGREES else key


def _words(text: str) -> set[str]:
    return {_fold(token) for token in _TOKEN.findall(text)}


def _line_sections(text: str) -> list[str | None]:
    sections: list[str | None] = []
    current: str | None = None
    for line in text.splitlines():
        key = matching.section_of_heading(line)
        if key is not None:
            current = key
        sections.append(current)
    return sections


def _name_claims(improved: str, raw_improved: str, support: str, known: set[str]) -> list[Claim]:
    """Organisations, titles and named credentials: capitalised names the person's text does not have."""
    # A title in a role line is a claim about that role: it needs the same title, capitalised as a title, in the
    # person's text ("Junior Developer" is not backed by "two junior developers").
    support_folded = " ".join(_fold(t) if t[:1].isupper() else "~" for t in _TOKEN.findall(support))
    claims: list[Claim] = []
    raw_lines = matching.normalise(raw_improved).splitlines()
    lines = improved.splitlines()
    sections = _line_sections(improved)
    for index, line in enumerate(lines):
        raw = raw_lines[index] if index < len(raw_lines) else line
        if not line.strip() or matching.section_of_heading(raw) is not None:
            continue
        section = sections[index]
        is_heading = raw.lstrip().startswith("#") or (raw.strip().startswith("**") and raw.strip().endswith("**"))
        role_line = bool(re.search(_YEAR, raw)) and len(raw.split()) <= _MAX_ROLE_LINE_WORDS
        role_line = role_line or (is_heading and section in _ROLE_SECTIONS) or section == "certifications"
        if is_heading and not role_line and section not in _ROLE_SECTIONS and index > 0:
            continue
        masked = _blank(line, [(start, end) for start, end, _ in _alias_spans(line)])
        for phrase, in_role in _phrases(masked, role_line=role_line):
            tokens = [t for t in phrase if _fold(t) not in _CONNECTORS]
            if not tokens:
                continue
            folded = [_fold(t) for t in tokens]
            unknown = [f for f in folded if f not in known and f not in _ORG_SUFFIXES]
            if not unknown and not (in_role and _is_title(folded) and not _phrase_in(folded, support_folded)):
                continue
            if not unknown and not _is_title(folded):
                continue
            text = " ".join(phrase).strip(" ,.;:")
            claims.append(Claim(_name_kind(folded, section), text))
    return claims


def _phrases(line: str, *, role_line: bool) -> list[tuple[list[str], bool]]:
    """Runs of capitalised words (joined by "of", "&" ...) that may name something, as token lists."""
    phrases: list[tuple[list[str], bool]] = []
    current: list[str] = []
    previous_end = 0
    previous_word = ""
    first_in_sentence = True
    for match in _TOKEN.finditer(line):
        word = match.group(0).rstrip(".,'")
        gap = line[previous_end : match.start()]
        boundary = (
            previous_end == 0
            or bool(_SENTENCE_END.search(line[max(0, match.start() - 6) : match.start()]))
            or "," in gap
        )
        if current and (gap.strip() not in ("", "&") or boundary):
            # Outside role lines, words before a colon are a label ("Tech Stack: Python"), not a name.
            if role_line or not gap.lstrip().startswith(":"):
                phrases.append((current, role_line))
            current = []
        if previous_end == 0 or _SENTENCE_END.search(line[max(0, match.start() - 6) : match.start()]):
            first_in_sentence = True
        capitalised = word[:1].isupper()
        acronym = len(word) > 1 and word.replace("-", "").isupper()
        eligible = capitalised and len(word) > 1 and _fold(word) not in _NOT_NAMES
        if eligible and acronym and not role_line and previous_word.lower() not in _ORG_PREPOSITIONS:
            eligible = False
        # A sentence in prose starts with a verb as often as with a name; a title word there is still a title.
        if eligible and first_in_sentence and not role_line and _fold(word) not in _TITLE_WORDS:
            eligible = False
        # "Exchange semester, ETH Zurich": a role line may start with an ordinary word too.
        if eligible and role_line and not current and _followed_by_lowercase(line, match.end()):
            eligible = False
        if eligible:
            current.append(word)
        elif current and word.lower() in _CONNECTORS:
            current.append(word)
        elif current:
            phrases.append((current, role_line))
            current = []
        first_in_sentence = False
        previous_end = match.end()
        previous_word = word
    if current:
        phrases.append((current, role_line))
    # A phrase never ends on a connector ("Leeds and").
    cleaned = []
    for tokens, in_role in phrases:
        while tokens and tokens[-1].lower() in _CONNECTORS:
            tokens = tokens[:-1]
        if tokens:
            cleaned.append((tokens, in_role))
    return cleaned


_WORD_AFTER = re.compile(r"\s+([^\W\d_][\w-]*)")


def _followed_by_lowercase(line: str, end: int) -> bool:
    following = _WORD_AFTER.match(line, end)
    if following is None:
        return False
    word = following.group(1)
    return word[:1].islower() and word.lower() not in _CONNECTORS


def _is_title(folded: list[str]) -> bool:
    return any(word in _TITLE_WORDS for word in folded)


def _phrase_in(folded: list[str], support_folded: str) -> bool:
    return f" {' '.join(folded)} " in f" {support_folded} "


def _name_kind(folded: list[str], section: str | None) -> str:
    if section == "certifications" or any(word in _CREDENTIAL_WORDS for word in folded):
        return "credential"
    if _is_title(folded):
        return "title"
    return "organisation"


@dataclass(frozen=True)
class _Role:
    """A role line of the person's CV: its distinctive names, its date ranges and its text as compared."""

    names: frozenset[str]
    ranges: frozenset[tuple[int, str]]
    text: str


def _capitalised_key(text: str) -> str:
    return " ".join(_fold(t) if t[:1].isupper() else "~" for t in _TOKEN.findall(text))


def _roles(support: str) -> list[_Role]:
    lines = [line for line in support.splitlines() if _dates(line).ranges]
    # The words of a title ("Marketing Coordinator") name no employer.
    names = [
        {
            _fold(t)
            for phrase, _ in _phrases(line, role_line=True)
            if not _is_title([_fold(t) for t in phrase])
            for t in phrase
        }
        for line in lines
    ]
    # A name is distinctive when no other role line has it: counted once, not by joining every other line's names.
    lines_with = Counter(name for line_names in names for name in line_names)
    roles = []
    for index, line in enumerate(lines):
        distinctive = frozenset(name for name in names[index] - _ORG_SUFFIXES if lines_with[name] == 1)
        roles.append(_Role(names=distinctive, ranges=frozenset(_dates(line).ranges), text=_capitalised_key(line)))
    return roles


def _pairing_claims(improved: str, support: str) -> list[Claim]:
    """Dates and titles moved from one role to another: a role line of the improved CV that names one of the
    person's roles (its employer or school) must carry that role's dates and title."""
    roles = [role for role in _roles(support) if role.names]
    # Distinctive names belong to one role each: a role line is paired through this index, not every role.
    role_of = {name: index for index, role in enumerate(roles) for name in role.names}
    claims: list[Claim] = []
    lines = improved.splitlines()
    for index, line in enumerate(lines):
        found = _dates(line)
        if not found.range_spans or len(line.split()) > _MAX_ROLE_LINE_WORDS:
            continue
        # The role's heading may be the line before ("### Ledgerly Ltd" then "Senior Engineer, 2021-present").
        previous = next((lines[i].strip() for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        heading_before = (
            len(previous.split()) <= 8
            and not previous.endswith(".")
            and not _dates(previous).ranges
            and matching.section_of_heading(previous) is None
        )
        window = [previous, line] if heading_before else [line]
        words = {
            _fold(t)
            for part in window
            for phrase, _ in _phrases(part, role_line=True)
            if not _is_title([_fold(t) for t in phrase])
            for t in phrase
        }
        matches = {role_of[word] for word in words if word in role_of}
        if len(matches) != 1:
            continue
        role = roles[matches.pop()]
        for start, end, value in found.range_spans:
            if value not in role.ranges:
                claims.append(Claim("date", line[start:end].strip()))
        for phrase, _ in (found for part in window for found in _phrases(part, role_line=True)):
            folded = [_fold(t) for t in phrase if _fold(t) not in _CONNECTORS]
            if _is_title(folded) and not _phrase_in(folded, role.text):
                claims.append(Claim("title", " ".join(phrase)))
    return claims


def verify_rewrite(*, source_text: str, request_text: str = "", improved_text: str, job_text: str = "") -> Verification:
    """The claims of ``improved_text`` that neither ``source_text`` (the uploaded CV) nor ``request_text`` (the
    person's request) supports. ``job_text`` adds the job's own keywords to the vocabulary checked; it is never
    support: the job says what is wanted, not what the person did."""
    support = _prepare(f"{source_text or ''}\n{request_text or ''}")
    improved = _prepare(improved_text or "")
    known = _words(support)

    claims: list[Claim] = []
    support_dates = _dates(support)
    date_claims, date_spans = _date_claims(improved, support_dates)
    claims += date_claims
    dated = [(start, end) for start, end, _ in support_dates.range_spans + support_dates.year_spans]
    claims += _number_claims(_blank(improved, date_spans), _blank(support, dated))
    claims += _keyword_claims(improved, support, job_text)
    credential_claims, credential_spans = _credential_claims(improved, support, known)
    claims += credential_claims
    claims += _pairing_claims(improved, support)
    claims += _name_claims(_blank(improved, date_spans + credential_spans), improved_text or "", support, known)

    unique: list[Claim] = []
    seen: set[str] = set()
    for claim in claims:
        key = claim.text.casefold()
        if key and key not in seen:
            seen.add(key)
            unique.append(claim)
    return Verification(unsupported=tuple(unique))
