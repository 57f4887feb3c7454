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
from collections.abc import Iterable, Mapping
from functools import lru_cache

from cv.scoring import job_reader, matching
from cv.scoring.claim_figures import dated_claims, number_claims, read_dates
from cv.scoring.claim_names import CONNECTORS, TOKEN, name_claims, pairing_claims
from cv.scoring.verdict import Claim, Verification, alias_spans, blank_out, fold, vocabulary_of
from cv.text import patterns

_EMAIL = patterns.EMAIL

_URL = re.compile(r"\b(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|dev|co|uk|de)/\S*", re.I)

_PHONE = patterns.PHONE_ON_ONE_LINE

_LIST_MARKER = re.compile(r"^(\s*)(?:[-*+•]|\d{1,2}[.)])\s+", re.M)

_EMPHASIS = re.compile(r"\*\*|__|[*`]|(?<!\w)_|_(?!\w)")

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

DEGREE = re.compile(
    r"(?<![\w.])(?P<deg>B\.?\s?Sc|M\.?\s?Sc|B\.?A|M\.?A|B\.?Eng|M\.?Eng|MBA|BBA|Ph\.?\s?D|D\.?Phil|M\.?Phil|LLB|LLM|HND"
    r"|[Bb]achelor(?:'s)?|[Mm]aster(?:'s)?|[Dd]octorate|[Dd]iploma)(?![\w])\.?"
)

DEGREE_SUBJECT = re.compile(r"(?:\s*\(\w+\))?(?:\s+(?:in|of))?((?:[ \t]+[A-Z][\w&'-]*(?:[ \t]+(?:and|&|of))?)*)")

_GRADE = re.compile(r"\b(?:hons|honours|honors|first[- ]class|distinction|cum laude|summa|magna)\b", re.I)


def prepare_text(text: str) -> str:
    """Plain text: typographic variants folded, Markdown emphasis and list markers and contact details gone."""
    text = matching.normalise(text).replace("\u2019", "'")
    for pattern, short in _DEGREE_LONG:
        text = pattern.sub(short, text)
    text = _EMAIL.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _PHONE.sub(lambda m: " " if 9 <= sum(ch.isdigit() for ch in m.group(0)) <= 15 else m.group(0), text)
    text = _LIST_MARKER.sub(r"\1", text)
    return _EMPHASIS.sub(" ", text)


def _stated_directly(text: str) -> set[str]:
    return {name for _, _, names in alias_spans(text) for name in names}


@lru_cache(maxsize=64)
def _job_extra_keywords(job_text: str) -> tuple[str, ...]:
    """The job's keywords the vocabulary does not hold (its own are candidates by name, whatever words the job
    used for them)."""
    by_name = vocabulary_of()[0]
    return tuple(
        keyword.term
        for keyword in job_reader.job_keywords(job_text)
        if keyword.vocabulary_name not in by_name and keyword.term not in by_name
    )


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
    by_name, _, _ = vocabulary_of()
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
    support_degrees = {degree_key(m.group("deg")) for m in DEGREE.finditer(support)}
    support_levels = {_DEGREES[d] for d in support_degrees}
    support_grades = {fold(m.group(0)) for m in _GRADE.finditer(support)}
    claims: list[Claim] = []
    spans: list[tuple[int, int]] = []
    for match in DEGREE.finditer(improved):
        key = degree_key(match.group("deg"))
        generic = key in {"bachelor", "master", "doctorate", "diploma"}
        ok = key in support_degrees or (generic and _DEGREES[key] in support_levels)
        # The subject named after the degree ("MSc Data Science") is part of the claim.
        subject = DEGREE_SUBJECT.match(improved, match.end())
        end = subject.end() if subject else match.end()
        words = [w for w in re.findall(r"[\w'-]+", subject.group(1) if subject else "") if w.lower() not in CONNECTORS]
        ok = ok and all(fold(w) in known for w in words)
        spans.append((match.start(), end))
        if not ok:
            claims.append(Claim("credential", " ".join(improved[match.start() : end].split())))
    for match in _GRADE.finditer(improved):
        if fold(match.group(0)) not in support_grades:
            claims.append(Claim("credential", match.group(0)))
        spans.append((match.start(), match.end()))
    return claims, spans


def degree_key(raw: str) -> str:
    key = re.sub(r"[\s.']", "", raw).lower()
    return key[:-1] if key.endswith("s") and key[:-1] in _DEGREES else key


def _words(text: str) -> set[str]:
    return {fold(token) for token in TOKEN.findall(text)}


def verify_rewrite(*, source_text: str, request_text: str = "", improved_text: str, job_text: str = "") -> Verification:
    """The claims of ``improved_text`` that neither ``source_text`` (the uploaded CV) nor ``request_text`` (the
    person's request) supports. ``job_text`` adds the job's own keywords to the vocabulary checked; it is never
    support: the job says what is wanted, not what the person did."""
    support = prepare_text(f"{source_text or ''}\n{request_text or ''}")
    improved = prepare_text(improved_text or "")
    known = _words(support)

    claims: list[Claim] = []
    support_dates = read_dates(support)
    date_claims, date_spans = dated_claims(improved, support_dates)
    claims += date_claims
    dated = [(start, end) for start, end, _ in support_dates.range_spans + support_dates.year_spans]
    claims += number_claims(blank_out(improved, date_spans), blank_out(support, dated))
    claims += _keyword_claims(improved, support, job_text)
    credential_claims, credential_spans = _credential_claims(improved, support, known)
    claims += credential_claims
    claims += pairing_claims(improved, support)
    claims += name_claims(blank_out(improved, date_spans + credential_spans), improved_text or "", support, known)

    unique: list[Claim] = []
    seen: set[str] = set()
    for claim in claims:
        key = claim.text.casefold()
        if key and key not in seen:
            seen.add(key)
            unique.append(claim)
    return Verification(unsupported=tuple(unique))
