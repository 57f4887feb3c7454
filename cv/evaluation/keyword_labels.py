"""A pair's keyword labels (`keywords.json`) and how the match report's lists are scored against them.

Each label is a requirement a recruiter would scan the CV for: its `term`, `kind` (one of the report's kinds),
`importance` (required or preferred), the job's own words (`job_quote`, exact in job.txt) and the CV's words
that show it (`cv_evidence`, exact in cv.txt, or null when the CV lacks it). A quote that is not in its text
is refused, so a label can never claim more than the texts say.

Scoring (`score_pair`) reads the report as a person would: a labelled keyword counts as recalled when a term
of the right list names it (``found`` for one with evidence, ``missing`` for one without); a listed term is
a real keyword when it names any label, and precise when it also sits in the right list. "Names" is the
tolerant match of `same_term`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cv.evaluation.dataset import Pair, PairError
from cv.llm import requirements
from cv.llm.errors import LLMError
from cv.scoring import matching
from cv.scoring.job import Job, JobRequirement

LABELS_FILE = "keywords.json"
KINDS = ("skill", "tool", "credential", "domain", "language")
IMPORTANCE = ("required", "preferred")


@dataclass(frozen=True)
class KeywordLabel:
    term: str
    kind: str
    importance: str
    job_quote: str
    cv_evidence: str | None

    @property
    def present(self) -> bool:
        return self.cv_evidence is not None


def load_labels(folder: Path, pair: Pair) -> tuple[KeywordLabel, ...]:
    """The labels in ``folder/keywords.json``; refuses a file whose quotes are not in the pair's texts."""
    path = folder / LABELS_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PairError(f"{folder.name}: {LABELS_FILE}: {exc}") from exc
    items = document.get("keywords") if isinstance(document, dict) else None
    if not isinstance(items, list) or not items:
        raise PairError(f"{folder.name}: {LABELS_FILE} needs a non-empty list under 'keywords'.")
    labels = []
    seen: set[str] = set()
    for item in items:
        label = _label(folder.name, item, pair)
        key = " ".join(_words(label.term))
        if key in seen:
            raise PairError(f"{folder.name}: the keyword {label.term!r} is labelled twice.")
        seen.add(key)
        labels.append(label)
    return tuple(labels)


def _label(name: str, item: object, pair: Pair) -> KeywordLabel:
    if not isinstance(item, dict):
        raise PairError(f"{name}: a keyword label must be an object, not {item!r}.")
    term, quote, evidence = item.get("term"), item.get("job_quote"), item.get("cv_evidence")
    if not isinstance(term, str) or not term.strip():
        raise PairError(f"{name}: a keyword label needs a term: {item!r}.")
    if item.get("kind") not in KINDS:
        raise PairError(f"{name}: {term!r}: kind must be one of {', '.join(KINDS)}, not {item.get('kind')!r}.")
    if item.get("importance") not in IMPORTANCE:
        raise PairError(
            f"{name}: {term!r}: importance must be one of {', '.join(IMPORTANCE)}, not {item.get('importance')!r}."
        )
    if not isinstance(quote, str) or not quote.strip() or quote not in pair.job_text:
        raise PairError(f"{name}: {term!r}: the job_quote {quote!r} is not in job.txt.")
    if evidence is not None and (not isinstance(evidence, str) or not evidence.strip() or evidence not in pair.cv_text):
        raise PairError(f"{name}: {term!r}: the cv_evidence {evidence!r} is not in cv.txt.")
    return KeywordLabel(
        term=term.strip(), kind=item["kind"], importance=item["importance"], job_quote=quote, cv_evidence=evidence
    )


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _words(term: str) -> list[str]:
    """The term's words: case folded, each singular; punctuation separates words except "+" and "#" (C++,
    C#) and the hyphen, which keeps a code whole ("HEC-RAS" is one word, so "ras" is not part of it)."""
    text = unicodedata.normalize("NFKC", term).casefold()
    words = re.sub(r"[^\w+#-]+", " ", text).replace(" -", " ").split()
    return ["-".join(_singular(part) for part in word.split("-")) for word in words]


def _contains(longer: list[str], shorter: list[str]) -> bool:
    """``shorter`` is a run of whole words of ``longer`` and at least half of it."""
    if not shorter or 2 * len(shorter) < len(longer):
        return False
    return any(longer[i : i + len(shorter)] == shorter for i in range(len(longer) - len(shorter) + 1))


def same_term(listed: str, labelled: str) -> bool:
    """The tolerant match: the same words whatever the case, punctuation, hyphens or plurals, or one term
    contained in the other as whole words making at least half of it ("arterial lines" and "arterial line
    monitoring"; not "care" and "critical care nursing")."""
    a, b = _words(listed), _words(labelled)
    if not a or not b:
        return False
    if [w.replace("-", "") for w in a] == [w.replace("-", "") for w in b]:
        return True
    if " ".join(a).replace("-", " ").split() == " ".join(b).replace("-", " ").split():
        return True
    return _contains(a, b) or _contains(b, a)


def _names(terms: Iterable[str], label: KeywordLabel) -> bool:
    return any(same_term(term, label.term) for term in terms)


@dataclass(frozen=True)
class PairScore:
    pair: str
    split: str
    field: str
    present: int  # labels with evidence in the CV
    present_found: int  # of those, named in the report's "found"
    absent: int  # labels without evidence
    absent_missing: int  # of those, named in the report's "missing"
    wrong_side: int  # labels named only in the other list
    listed: int  # terms in found + missing
    listed_keywords: int  # of those, naming any label
    listed_right: int  # of those, naming a label and in the list its evidence says
    unrecalled: tuple[str, ...]  # labels the report does not name on their side
    not_keywords: tuple[str, ...]  # listed terms that name no label
    not_in_job: int = 0  # listed terms whose words the job text does not hold
    quote_not_in_cv: int = 0  # evidence quotes that are not the CV's own words
    outside: tuple[str, ...] = ()  # those terms and quotes


def job_text_for(pair: Pair) -> str:
    """The job's text as the questionnaire holds it (position, industry and job description)."""
    return Job(position=pair.position, industry=pair.industry, description=pair.job_text).text


def read_with_model(pair: Pair) -> tuple[tuple[JobRequirement, ...] | None, str]:
    """The configured model's reading of the pair's job, as an analysis reads it (cv.llm.requirements), and ""; or
    None and why it failed, where the service falls back to the deterministic extractor alone."""
    try:
        reading = requirements.read_with_model(job_text=job_text_for(pair), cv_text=pair.cv_text)
    except LLMError as exc:
        return None, exc.code
    except requirements.UnusableAnswer:
        return None, "unusable"
    return reading.requirements, ""


def report_for(pair: Pair, read: Sequence[JobRequirement] | None = None) -> matching.MatchReport:
    """The match report the service builds for an analysis of this pair before anything is rewritten:
    the job's text as the questionnaire holds it, the CV's text as extracted, and the model's reading of
    the job when there is one."""
    return matching.match_report(job_text=job_text_for(pair), cv_text=pair.cv_text, improved_text=None, read=read)


def score_pair(pair: Pair, labels: Sequence[KeywordLabel], report: matching.MatchReport) -> PairScore:
    found, missing = report["keywords"]["found"], report["keywords"]["missing"]
    present = [label for label in labels if label.present]
    absent = [label for label in labels if not label.present]
    recalled = {label.term for label in present if _names(found, label)}
    recalled |= {label.term for label in absent if _names(missing, label)}
    named_anywhere = {label.term for label in labels if _names(found + missing, label)}
    right = [t for t in found if any(same_term(t, label.term) for label in present)]
    right += [t for t in missing if any(same_term(t, label.term) for label in absent)]
    keywords = [t for t in found + missing if any(same_term(t, label.term) for label in labels)]
    not_in_job = [term for term in found + missing if not in_text(term, job_text_for(pair))]
    quotes = [detail["cv_evidence"] for detail in report["keywords"].get("details", [])]
    not_in_cv = [quote for quote in quotes if quote is not None and not quoted(quote, pair.cv_text)]
    return PairScore(
        pair=pair.name,
        split=pair.split,
        field=pair.field,
        present=len(present),
        present_found=sum(label.term in recalled for label in present),
        absent=len(absent),
        absent_missing=sum(label.term in recalled for label in absent),
        wrong_side=len(named_anywhere - recalled),
        listed=len(found) + len(missing),
        listed_keywords=len(keywords),
        listed_right=len(right),
        unrecalled=tuple(label.term for label in labels if label.term not in recalled),
        not_keywords=tuple(t for t in found + missing if t not in keywords),
        not_in_job=len(not_in_job),
        quote_not_in_cv=len(not_in_cv),
        outside=(*not_in_job, *not_in_cv),
    )


def _flat(text: str) -> str:
    return " ".join(text.casefold().split())


def _plain_words(text: str) -> list[str]:
    words = re.findall(r"[\w+#]+", unicodedata.normalize("NFKC", text).casefold())
    return [word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word for word in words]


def in_text(term: str, text: str) -> bool:
    """Whether a listed term stands in a text, both normalised: case, punctuation and hyphens as spaces, a
    plural "s" ("KPIs" is in "KPI performance", "PLC" in "PLC-controlled"), and, for a term the job says as a
    duty, its words in any order and inflection within a few words on one line ("Discharge planning" is in
    "Plan discharges", "Account management" in "manage the accounts")."""
    words = _plain_words(term)
    if not words:
        return False
    size = len(words)
    held = _plain_words(text)
    if any(held[i : i + size] == words for i in range(len(held) - size + 1)):
        return True
    for line in text.splitlines() or [text]:
        held = _plain_words(line)
        window = size + 2
        for i in range(len(held)):
            near = held[i : i + window]
            if all(any(_same_stem(word, other) for other in near) for word in words):
                return True
    return False


def _same_stem(a: str, b: str) -> bool:
    size = min(len(a), len(b), 5)
    return size >= 4 and a[:size] == b[:size]


def quoted(quote: str, text: str) -> bool:
    """Whether a quote is an exact substring of a text once whitespace and case are normalised."""
    return _flat(quote) in _flat(text)


COUNTS = (
    "not_in_job",
    "quote_not_in_cv",
    "present",
    "present_found",
    "absent",
    "absent_missing",
    "wrong_side",
    "listed",
    "listed_keywords",
    "listed_right",
)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 2) if whole else None


def totals(scores: Sequence[PairScore]) -> dict[str, int | float | None]:
    """Pooled over the scores: counts added up, then the ratios (micro-averaged: every label weighs the same)."""
    sums = {name: sum(getattr(score, name) for score in scores) for name in COUNTS}
    labelled = sums["present"] + sums["absent"]
    return {
        "pairs": len(scores),
        **sums,
        "recall_present": _ratio(sums["present_found"], sums["present"]),
        "recall_missing": _ratio(sums["absent_missing"], sums["absent"]),
        "recall": _ratio(sums["present_found"] + sums["absent_missing"], labelled),
        "precision": _ratio(sums["listed_right"], sums["listed"]),
        "keyword_share": _ratio(sums["listed_keywords"], sums["listed"]),
    }
