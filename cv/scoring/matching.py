"""The CV match report: deterministic, explainable, the same whatever produced the improved CV.

Keywords come from ``cv.scoring.keywords``: the curated vocabulary (``cv.scoring.vocabulary``), the codes and
abbreviations of the job description the vocabulary does not know, and its domain phrases. A CV "has" a keyword when it
names it or one of its aliases (in any inflection for skills), or names a more specific term that implies it
(Django REST Framework implies Django). Each keyword has a kind (skill, tool, credential, domain, language),
reported in ``keywords.kinds``; ``keywords.details`` adds, for each, whether the job requires or prefers it, the
job's words that ask for it and the CV's words that show it (an exact quote of the CV, or None).

Score (0-100) = 70 x share of the job's keywords found + 30 x share of the six section checks passed; with
no keywords in the job, the section checks alone make the score.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Protocol, TypedDict

from cv.scoring import job_reader, keywords, term_index, words
from cv.text import patterns

KEYWORD_WEIGHT = 70
SECTION_WEIGHT = 30
SECTION_KEYS = ("contact", "summary", "experience", "education", "skills", "quantified_achievements")
# Two measurable results make "quantified achievements"; one can be luck of phrasing.
MIN_QUANTIFIED = 2

SECTION_HEADINGS: dict[str, tuple[str, ...]] = {
    "summary": (
        "summary",
        "profile",
        "professional summary",
        "personal statement",
        "about me",
        "about",
        "objective",
        "career objective",
        "personal profile",
        "executive summary",
        "overview",
        "professional profile",
        "career summary",
    ),
    "experience": (
        "experience",
        "work experience",
        "professional experience",
        "employment",
        "employment history",
        "work history",
        "career history",
        "relevant experience",
        "career",
        "professional background",
    ),
    "education": (
        "education",
        "qualifications",
        "academic background",
        "education and training",
        "education & training",
        "education & qualifications",
        "education and qualifications",
        "academic qualifications",
    ),
    "skills": (
        "skills",
        "technical skills",
        "key skills",
        "core skills",
        "competencies",
        "core competencies",
        "technologies",
        "tools",
        "tech stack",
        "expertise",
        "skills & tools",
        "skills and tools",
        "areas of expertise",
    ),
    "languages": ("languages", "language skills"),
    "certifications": ("certifications", "certificates", "licences", "licenses", "certifications & awards"),
    "projects": ("projects", "selected projects", "personal projects", "open source"),
    "other": ("interests", "hobbies", "awards", "publications", "references", "volunteering", "achievements"),
}
_HEADING_TO_SECTION = {heading: key for key, headings in SECTION_HEADINGS.items() for heading in headings}
# Every heading in one pattern, longest first: the leftmost match is the heading word that comes first in a line,
# the longest one there ("professional summary" before "summary"). One search per line, not one per heading.
_HEADING_WORDS = re.compile(
    r"\b(?:"
    + "|".join(re.escape(heading) for heading in sorted(_HEADING_TO_SECTION, key=lambda heading: -len(heading)))
    + r")\b"
)

_EMAIL = patterns.EMAIL
_PHONE = patterns.PHONE
_PROFILE_URL = re.compile(r"\b(?:linkedin\.com/in/|github\.com/)\S+", re.IGNORECASE)
_DEGREE = re.compile(r"\b(?:BSc|BA|BEng|MSc|MA|MEng|MBA|PhD|Bachelor|Master|Diploma|University)\b")
# A percentage is read from the start of its number ((?<!\d)): tried at every digit of a long run of digits, the
# search was quadratic in the run's length; a match found mid-run would also be found from its start.
_QUANTIFIED = re.compile(
    r"(?<!\d)\d+(?:[.,]\d+)?\s?%"
    r"|[$£€]\s?\d"
    r"|\b\d+(?:[.,]\d+)?\s?(?:k|m|bn|million|billion|thousand)\b"
    r"|\b\d+(?:\.\d+)?x\b"
    r"|\b\d[\d,.]*\+?\s+(?:hours?|minutes?|seconds?|ms|days?|weeks?|users?|customers?|clients?|people"
    r"|engineers?|developers?|members?|projects?|countries|markets|leads|subscribers|followers|requests"
    r"|transactions|orders|downloads|installs|campaigns|hires|accounts|deals|services|teams?|stores)\b",
    re.IGNORECASE,
)


def normalise(text: str) -> str:
    """Fold typographic variants (non-breaking spaces, en dashes, ligatures) to plain characters."""
    return words.normalise(text)


def job_keywords(job_text: str) -> list[str]:
    """The keywords of a job (their display names), in the order the job first mentions them."""
    return [keyword.term for keyword in job_reader.job_keywords(job_text)]


def cv_keywords(cv_text: str, candidates: Iterable[str | keywords.Keyword]) -> set[str]:
    """Which of ``candidates`` the CV covers, by name, alias, inflection or implication."""
    index = term_index.TermIndex(cv_text)
    return {_term(c) for c in candidates if index.covers(c)}


def _term(keyword: str | keywords.Keyword) -> str:
    return keyword if isinstance(keyword, str) else keyword.term


def section_of_heading(line: str) -> str | None:
    """The section key a line opens, or None when the line is not a section heading."""
    stripped = line.strip()
    if not stripped or len(stripped) > 60:
        return None
    is_markdown = stripped.startswith("#") or (stripped.startswith("**") and stripped.endswith("**"))
    cleaned = re.sub(r"^[#*_\s\d.]+|[#*_:\s]+$", "", stripped)
    normalised = re.sub(r"\s+", " ", cleaned).lower()
    if normalised in _HEADING_TO_SECTION:
        return _HEADING_TO_SECTION[normalised]
    letters = [ch for ch in cleaned if ch.isalpha()]
    title_case = all(word[:1].isupper() or word in {"&", "and", "of"} for word in cleaned.split())
    looks_like_heading = (
        is_markdown or stripped.endswith(":") or title_case or (letters and all(ch.isupper() for ch in letters))
    )
    if not looks_like_heading or len(normalised.split()) > 5:
        return None
    # "Skills & Languages" is a skills section: the first heading word in the line decides.
    match = _HEADING_WORDS.search(normalised)
    return _HEADING_TO_SECTION[match.group(0)] if match else None


def quantified_statements(text: str) -> list[str]:
    """Lines that state a measurable result (a percentage, an amount, a count, a duration)."""
    return [line.strip() for line in normalise(text).splitlines() if _QUANTIFIED.search(line)]


def section_checks(cv_text: str) -> dict[str, bool]:
    text = normalise(cv_text)
    headings = {section_of_heading(line) for line in text.splitlines()}
    has_phone = any(9 <= sum(ch.isdigit() for ch in m.group(0)) <= 15 for m in _PHONE.finditer(text))
    quantified = sum(len(_QUANTIFIED.findall(line)) for line in text.splitlines())
    return {
        "contact": bool(_EMAIL.search(text) or has_phone or _PROFILE_URL.search(text)),
        "summary": "summary" in headings,
        "experience": "experience" in headings,
        "education": "education" in headings or bool(_DEGREE.search(text)),
        "skills": "skills" in headings,
        "quantified_achievements": quantified >= MIN_QUANTIFIED,
    }


def score(*, keywords_total: int, keywords_found: int, sections: dict[str, bool]) -> int:
    section_share = sum(bool(sections[key]) for key in SECTION_KEYS) / len(SECTION_KEYS)
    if keywords_total == 0:
        return round(100 * section_share)
    return round(KEYWORD_WEIGHT * keywords_found / keywords_total + SECTION_WEIGHT * section_share)


class KeywordDetail(TypedDict):
    """Why the report says what it says about one keyword: the job's words that ask for it and the CV's words
    that show it (None: the CV does not show it, so it is missing)."""

    term: str
    kind: str
    importance: str
    job_quote: str
    cv_evidence: str | None


class MatchKeywords(TypedDict):
    found: list[str]
    missing: list[str]
    added: list[str]
    unsupported: list[str]
    kinds: dict[str, str]
    details: list[KeywordDetail]


class MatchReport(TypedDict):
    """The shape stored in AIResponse.match_report and returned by the API (docs/api.md)."""

    score_before: int
    score_after: int
    keywords: MatchKeywords
    sections: dict[str, bool]


class ReadRequirement(Protocol):
    """A requirement of the job as the model read it and cv.llm.requirements checked it."""

    @property
    def term(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def importance(self) -> str: ...
    @property
    def job_quote(self) -> str: ...
    @property
    def cv_evidence(self) -> str | None: ...


def _term_key(term: str) -> tuple[str, ...]:
    return tuple(words.stem(word) for word in re.findall(r"[\w+#&]+", normalise(term).casefold()))


def merged_requirements(
    job_text: str, index: term_index.TermIndex, read: Sequence[ReadRequirement] | None
) -> list[tuple[keywords.Requirement, str | None]]:
    """The job's requirements with the CV's evidence for each: the deterministic extractor's, and with a model's
    reading, the model's terms merged in (the same term once; the model's kind and importance win). Evidence
    is the model's checked quote, else the CV's own words for the term."""
    deterministic = job_reader.job_requirements(job_text)
    if read is None:
        return [(requirement, index.evidence(requirement.keyword)) for requirement in deterministic]
    by_key = {_term_key(requirement.keyword.vocabulary_name): requirement for requirement in deterministic}
    merged: dict[tuple[str, ...], tuple[keywords.Requirement, str | None]] = {}
    for item in read:
        keyword = keywords.keyword_for(item.term, kind=item.kind)
        key = _term_key(keyword.vocabulary_name)
        if key in merged:
            continue
        known = by_key.get(key) or by_key.get(_term_key(item.term))
        if known is not None:
            keyword = replace(known.keyword, kind=item.kind)
            key = _term_key(keyword.vocabulary_name)
        requirement = keywords.Requirement(keyword=keyword, importance=item.importance, job_quote=item.job_quote)
        merged[key] = (requirement, item.cv_evidence or index.evidence(keyword))
        merged.setdefault(_term_key(item.term), merged[key])
    listed = list({id(entry): entry for entry in merged.values()}.values())
    listed += [
        (requirement, index.evidence(requirement.keyword)) for key, requirement in by_key.items() if key not in merged
    ]
    folded = normalise(job_text).casefold()

    def position(entry: tuple[keywords.Requirement, str | None]) -> int:
        # The job's order: where its quote starts, then where the term sits in the quote.
        quote = normalise(entry[0].job_quote).casefold()
        at = folded.find(quote)
        return (at if at != -1 else len(folded)) + max(0, quote.find(entry[0].keyword.term.casefold()))

    return sorted(listed, key=position)


def match_report(
    *,
    job_text: str,
    cv_text: str,
    improved_text: str | None,
    request_text: str = "",
    read: Sequence[ReadRequirement] | None = None,
) -> MatchReport:
    """The match report of docs/api.md; ``improved_text`` None (nothing produced yet) mirrors the CV.

    ``read``: the model's reading of the job (cv.llm.requirements), merged with the deterministic extractor's;
    None scores against the deterministic extractor alone. A keyword the improved CV covers is ``added`` only
    when the person's own text (the CV, or their request, which may add facts) backs it; otherwise it is
    ``unsupported`` and does not raise ``score_after``.
    """
    index = term_index.TermIndex(cv_text)
    scored = merged_requirements(job_text, index, read)
    requirements = [requirement for requirement, _ in scored]
    job = [requirement.keyword for requirement in requirements]
    terms = [keyword.term for keyword in job]
    # A keyword is found only with a quote from the CV that shows it.
    evidence = {requirement.keyword.term: quote for requirement, quote in scored}
    found = [k for k in terms if evidence[k] is not None]
    missing = [k for k in terms if evidence[k] is None]
    sections_before = section_checks(cv_text)
    score_before = score(keywords_total=len(terms), keywords_found=len(found), sections=sections_before)
    added: list[str] = []
    unsupported: list[str] = []
    if improved_text is None:
        score_after = score_before
    else:
        missing_keywords = [keyword for keyword in job if keyword.term in missing]
        # The improved CV still shows a keyword when it names it, or keeps the CV's words that showed it.
        kept_words = " ".join(normalise(improved_text).split()).casefold()
        after = cv_keywords(improved_text, job) | {
            k for k in found if " ".join(str(evidence[k]).split()).casefold() in kept_words
        }
        backed = cv_keywords(f"{cv_text}\n{request_text}", missing_keywords) if request_text else set()
        added = [k for k in missing if k in after and k in backed]
        unsupported = [k for k in missing if k in after and k not in backed]
        score_after = score(
            keywords_total=len(terms),
            keywords_found=len([k for k in terms if k in after and k not in unsupported]),
            sections=section_checks(improved_text),
        )
    return {
        "score_before": score_before,
        "score_after": score_after,
        "keywords": {
            "found": found,
            "missing": missing,
            "added": added,
            "unsupported": unsupported,
            "kinds": keywords.kinds_of(job),
            "details": [
                {
                    "term": requirement.keyword.term,
                    "kind": requirement.keyword.kind,
                    "importance": requirement.importance,
                    "job_quote": requirement.job_quote,
                    "cv_evidence": evidence[requirement.keyword.term],
                }
                for requirement in requirements
            ],
        },
        # Like found/missing, the section checks describe the uploaded CV: that is what the person must fix.
        "sections": sections_before,
    }
