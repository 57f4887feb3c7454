"""The CV match report: deterministic, explainable, the same whatever produced the improved CV.

Keywords come from a curated vocabulary (``cv.vocabulary``) plus the uppercase abbreviations and CamelCase
product names of the job description that the vocabulary does not know. A CV "has" a keyword when it names
it or one of its aliases, or names a more specific term that implies it (Django REST Framework implies
Django).

Score (0-100) = 70 x share of the job's keywords found + 30 x share of the six section checks passed; with
no keywords in the job, the section checks alone make the score.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from cv.vocabulary import GENERIC_CAPITALISED, TERMS, Term

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

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\(?\d[\d\s().-]{7,}\d")
_PROFILE_URL = re.compile(r"\b(?:linkedin\.com/in/|github\.com/)\S+", re.IGNORECASE)
_DEGREE = re.compile(r"\b(?:BSc|BA|BEng|MSc|MA|MEng|MBA|PhD|Bachelor|Master|Diploma|University)\b")
_QUANTIFIED = re.compile(
    r"\d+(?:[.,]\d+)?\s?%"
    r"|[$£€]\s?\d"
    r"|\b\d+(?:[.,]\d+)?\s?(?:k|m|bn|million|billion|thousand)\b"
    r"|\b\d+(?:\.\d+)?x\b"
    r"|\b\d[\d,.]*\+?\s+(?:hours?|minutes?|seconds?|ms|days?|weeks?|users?|customers?|clients?|people"
    r"|engineers?|developers?|members?|projects?|countries|markets|leads|subscribers|followers|requests"
    r"|transactions|orders|downloads|installs|campaigns|hires|accounts|deals|services|teams?|stores)\b",
    re.IGNORECASE,
)
_CAMEL = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z0-9]*)+\b")
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,5}\b")


@dataclass(frozen=True)
class _Matcher:
    term: Term
    pattern: re.Pattern[str]


def normalise(text: str) -> str:
    """Fold typographic variants (non-breaking spaces, en dashes, ligatures) to plain characters."""
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"[\u2010-\u2015\u2212]", "-", text)


def _alias_regex(alias: str, *, plural: bool = True) -> str:
    parts = re.split(r"[\s\-]+", alias.strip())
    body = r"[\s\-]*".join(re.escape(part) for part in parts)
    if plural and alias[-1].isalpha():
        body += "(?:s|es)?"
    return rf"(?<![\w@/.\-]){body}(?![\w+#]|\.\w)"


@lru_cache(maxsize=1)
def _matchers() -> tuple[_Matcher, ...]:
    matchers = []
    for term in TERMS:
        exact = [a[1:] for a in term.aliases if a.startswith("=")]
        loose = [a for a in term.aliases if not a.startswith("=")]
        if term.name not in exact:
            loose.append(term.name)
        # Regex alternation takes the first alternative that matches, so try the longest alias first.
        loose.sort(key=len, reverse=True)
        exact.sort(key=len, reverse=True)
        alternatives = []
        if loose:
            alternatives.append("(?i:" + "|".join(_alias_regex(a) for a in loose) + ")")
        alternatives.extend(_alias_regex(a, plural=False) for a in exact)
        matchers.append(_Matcher(term=term, pattern=re.compile("|".join(alternatives))))
    return tuple(matchers)


_TERMS_BY_NAME = {term.name: term for term in TERMS}


def _vocabulary_hits(text: str) -> tuple[list[tuple[int, str]], list[tuple[int, int]]]:
    """Return (first position, term name) for every term in ``text``, longest matches first.

    A shorter alias inside a longer match does not count ("Looker" inside "Looker Studio").
    """
    spans = []
    for matcher in _matchers():
        for match in matcher.pattern.finditer(text):
            if match.end() > match.start():
                spans.append((match.start(), match.end(), matcher.term.name))
    spans.sort(key=lambda span: (-(span[1] - span[0]), span[0]))
    occupied = bytearray(len(text))
    taken: list[tuple[int, int]] = []
    first_seen: dict[str, int] = {}
    for start, end, name in spans:
        if any(occupied[start:end]):
            continue
        occupied[start:end] = b"\x01" * (end - start)
        taken.append((start, end))
        first_seen[name] = min(first_seen.get(name, start), start)
    return sorted((pos, name) for name, pos in first_seen.items()), taken


def _extra_terms(text: str, taken: Iterable[tuple[int, int]]) -> list[tuple[int, str]]:
    """Abbreviations and CamelCase names the vocabulary does not know, outside vocabulary matches."""
    masked = list(text)
    for start, end in taken:
        masked[start:end] = " " * (end - start)
    masked_text = "".join(masked)
    found: dict[str, int] = {}
    offset = 0
    for line in masked_text.split("\n"):
        letters = [ch for ch in line if ch.isalpha()]
        # A heading written in capitals ("WHAT YOU WILL DO") is not a list of abbreviations.
        shouting = letters and sum(ch.isupper() for ch in letters) / len(letters) > 0.6 and len(letters) > 6
        if not shouting:
            for pattern in (_ACRONYM, _CAMEL):
                for match in pattern.finditer(line):
                    word = match.group(0)
                    if word.upper() in GENERIC_CAPITALISED or word.startswith(("Mc", "Mac")):
                        continue
                    if word.isdigit() or any(ch.isdigit() for ch in word[:1]):
                        continue
                    found.setdefault(word, offset + match.start())
        offset += len(line) + 1
    return sorted((pos, word) for word, pos in found.items())


def job_keywords(job_text: str) -> list[str]:
    """The keywords of a job, in the order the job first mentions them."""
    text = normalise(job_text)
    hits, taken = _vocabulary_hits(text)
    known = {name.upper() for _, name in hits}
    extra = [(pos, word) for pos, word in _extra_terms(text, taken) if word.upper() not in known]
    return [name for _, name in sorted(hits + extra)]


def job_text_of(questionnaire_fields: Mapping[str, object]) -> str:
    """The text a job's keywords are read from: position, industry and the job description."""
    parts = [questionnaire_fields.get(key) for key in ("position", "industry", "job_description")]
    return "\n".join(str(part) for part in parts if part)


def cv_keywords(cv_text: str, candidates: Iterable[str]) -> set[str]:
    """Which of ``candidates`` the CV covers, by name, alias or implication."""
    text = normalise(cv_text)
    hits, _ = _vocabulary_hits(text)
    covered: set[str] = set()
    pending = [name for _, name in hits]
    while pending:
        name = pending.pop()
        if name in covered:
            continue
        covered.add(name)
        term = _TERMS_BY_NAME.get(name)
        if term:
            pending.extend(term.implies)
    for candidate in candidates:
        if candidate not in _TERMS_BY_NAME and re.search(rf"(?<!\w){re.escape(candidate)}(?!\w)", text):
            covered.add(candidate)
    return {c for c in candidates if c in covered}


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
    best: tuple[int, int, str] | None = None
    for heading, key in _HEADING_TO_SECTION.items():
        match = re.search(rf"\b{re.escape(heading)}\b", normalised)
        if match and (best is None or (match.start(), -len(heading)) < best[:2]):
            best = (match.start(), -len(heading), key)
    return best[2] if best else None


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


def match_report(*, job_text: str, cv_text: str, improved_text: str | None, request_text: str = "") -> dict:
    """The match report of DESIGN.md; ``improved_text`` None (nothing produced yet) mirrors the CV.

    A keyword the improved CV covers is ``added`` only when the person's own text (the CV, or their request,
    which may add facts) backs it; otherwise it is ``unsupported`` and does not raise ``score_after``.
    """
    keywords = job_keywords(job_text)
    before = cv_keywords(cv_text, keywords)
    found = [k for k in keywords if k in before]
    missing = [k for k in keywords if k not in before]
    sections_before = section_checks(cv_text)
    score_before = score(keywords_total=len(keywords), keywords_found=len(found), sections=sections_before)
    added: list[str] = []
    unsupported: list[str] = []
    if improved_text is None:
        score_after = score_before
    else:
        after = cv_keywords(improved_text, keywords)
        backed = cv_keywords(f"{cv_text}\n{request_text}", missing) if request_text else set()
        added = [k for k in missing if k in after and k in backed]
        unsupported = [k for k in missing if k in after and k not in backed]
        score_after = score(
            keywords_total=len(keywords),
            keywords_found=len([k for k in keywords if k in after and k not in unsupported]),
            sections=section_checks(improved_text),
        )
    return {
        "score_before": score_before,
        "score_after": score_after,
        "keywords": {"found": found, "missing": missing, "added": added, "unsupported": unsupported},
        # Like found/missing, the section checks describe the uploaded CV: that is what the person must fix.
        "sections": sections_before,
    }
