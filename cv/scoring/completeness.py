"""Completeness, the other half of truthfulness: every employer, role, date range, degree and certification
of the uploaded CV is still in the improved CV, unless the person asked to drop it.

A rewrite that loses a job the person held is as wrong as one that invents one. ``missing_facts`` lists
what is gone as claims (``kind`` organisation, title, date or credential; the same kinds as cv.scoring.claims), and
cv.llm.verification reports them as ``verification.missing`` and repairs them like inventions.

It reads the uploaded CV the way cv.scoring.claims reads claims (role lines: a line with a date range; the
education and certification sections), with cv.scoring.claims' own normalisation, so a fact rephrased the way a
faithful rewrite rephrases ("Bachelor of Science" for "BSc", an en dash for a hyphen) is still found.
Pure, offline and linear in the texts' length.
"""

from __future__ import annotations

import re

from cv.scoring import matching
from cv.scoring.claim_figures import read_dates
from cv.scoring.claim_names import (
    CONNECTORS,
    MAX_ROLE_LINE_WORDS,
    ORG_SUFFIXES,
    TOKEN,
    is_title,
    line_sections,
    name_phrases,
)
from cv.scoring.claims import DEGREE, DEGREE_SUBJECT, degree_key, prepare_text
from cv.scoring.verdict import Claim, fold

# A request that asks to leave something out, and names it, drops that fact from what must be kept.
_DROP = re.compile(r"\b(drop|remove|omit|leave out|leave off|delete|exclude|cut|without|take out|skip)\b", re.I)
# At most this many facts are listed: a rewrite that lost more has lost everything, and the list stays short.
MAX_MISSING = 30


def _folded_sequence(text: str) -> str:
    return f" {' '.join(fold(token) for token in TOKEN.findall(text))} "


def _significant(text: str) -> list[str]:
    return [f for f in (fold(t) for t in TOKEN.findall(text)) if f and f not in CONNECTORS and f not in ORG_SUFFIXES]


def _facts(source: str) -> list[tuple[int, Claim]]:
    """The employers, titles, date ranges, degrees and certifications the uploaded CV states, each with the
    index of its line."""
    facts: list[tuple[int, Claim]] = []
    sections = line_sections(source)
    for index, line in enumerate(source.splitlines()):
        if not line.strip() or matching.section_of_heading(line) is not None:
            continue
        degrees = [(match.start(), _degree_end(line, match)) for match in DEGREE.finditer(line)]
        facts += [(index, Claim("credential", " ".join(line[s:e].split()).strip(". "))) for s, e in degrees]
        if sections[index] == "certifications" and len(line.split()) <= MAX_ROLE_LINE_WORDS:
            facts.append((index, Claim("credential", " ".join(line.split()).strip(" -•*"))))
            continue
        found = read_dates(line)
        if not found.range_spans or len(line.split()) > MAX_ROLE_LINE_WORDS:
            continue
        facts += [(index, Claim("date", line[start:end].strip())) for start, end, _ in found.range_spans]
        blanked = list(line)
        for start, end in [(s, e) for s, e, _ in found.range_spans] + degrees:
            blanked[start:end] = " " * (end - start)
        title = organisation = None
        for phrase, _ in name_phrases("".join(blanked), role_line=True):
            folded = [fold(t) for t in phrase]
            if not _significant(" ".join(phrase)):
                continue
            if is_title(folded):
                title = title or " ".join(phrase)
            else:
                organisation = organisation or " ".join(phrase)
        facts += [
            (index, Claim(kind, text)) for kind, text in (("title", title), ("organisation", organisation)) if text
        ]
    unique: dict[tuple[str, str], tuple[int, Claim]] = {}
    for index, fact in facts:
        key = fact.text.casefold() if fact.kind == "date" else " ".join(_significant(fact.text))
        unique.setdefault((fact.kind, key), (index, fact))
    return [found for (_, key), found in unique.items() if key]


def _degree_end(line: str, match: re.Match[str]) -> int:
    # The subject named after the degree ("BSc Computer Science") is part of it, never an employer.
    subject = DEGREE_SUBJECT.match(line, match.end())
    return subject.end() if subject else match.end()


def _kept(fact: Claim, *, sequence: str, ranges: set, degrees: set[str]) -> bool:
    if fact.kind == "date":
        return bool(read_dates(fact.text).ranges & ranges)
    match = DEGREE.match(fact.text) if fact.kind == "credential" else None
    if match is not None and degree_key(match.group("deg")) not in degrees:
        return False
    if match is not None:
        return all(f" {word} " in sequence for word in _significant(fact.text[match.end() :]))
    return f" {' '.join(fold(t) for t in TOKEN.findall(fact.text))} " in sequence or all(
        f" {word} " in sequence for word in _significant(fact.text)
    )


def _named_in(fact: Claim, request: str) -> bool:
    asked = set(_significant(request)) | set(re.findall(r"\d{4}", request))
    named = set(_significant(fact.text)) | set(re.findall(r"\d{4}", fact.text))
    return bool(named & asked)


def missing_facts(*, source_text: str, improved_text: str, request_text: str = "") -> tuple[Claim, ...]:
    """The uploaded CV's facts (employers, titles, date ranges, degrees, certifications) that the improved
    CV no longer states, leaving out those the person's request asks to drop."""
    improved = prepare_text(improved_text or "")
    sequence = _folded_sequence(improved)
    ranges = read_dates(improved).ranges
    degrees = {degree_key(match.group("deg")) for match in DEGREE.finditer(improved)}
    facts = _facts(prepare_text(source_text or ""))
    request = request_text or ""
    # A role the person asks to drop goes with its dates and title: the line that names it is dropped whole.
    dropped = {index for index, fact in facts if _named_in(fact, request)} if _DROP.search(request) else set()
    missing = [
        fact
        for index, fact in facts
        if index not in dropped and not _kept(fact, sequence=sequence, ranges=ranges, degrees=degrees)
    ]
    return tuple(missing[:MAX_MISSING])
