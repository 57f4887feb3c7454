"""What a person would say about an answer, judged from the pair's labels and texts alone.

Deliberately independent of the service's own gates and truthfulness check (it imports neither): the
evaluation must be able to catch what they let through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from cv.evaluation.dataset import Fact, Pair

# Template text a model copied instead of filling in: "<the complete improved CV>", "[Your Name]".
_PLACEHOLDER = re.compile(
    r"<(?!https?:|mailto:|www\.)[a-z][^<>\n@]{2,80}>"
    r"|\[(?:your|insert|add|company|employer|job title|name|date|phone|email)[^\]\n]{0,60}\]",
    re.IGNORECASE,
)
# Pieces of a prompt or of the requested JSON shape showing in what should be a CV.
_PROMPT_MARKERS = re.compile(
    r"<<<|>>>|\bimproved_cv\b|\"changes\"\s*:|^#+\s*the (?:job|candidate'?s? (?:cv|request))\b|^job description:\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_FENCE = re.compile(r"^\s*```", re.MULTILINE)
_DASHES = re.compile(r"\s*[-\u2010-\u2015\u2212]+\s*")
_MARKUP = re.compile(r"[*_`#>|]")
_SPACE = re.compile(r"\s+")
_YEAR_OR_NOW = re.compile(r"\b(?:19|20)\d\d\b|\b(?:present|current|now|today)\b", re.IGNORECASE)
# A job line this long found word for word in the answer (and not in the CV) was pasted in from the job.
_ECHO_MIN_CHARS = 50
# Word-level similarity to the upload at or above which the answer counts as the upload unchanged.
UNCHANGED_RATIO = 0.9
SHORTEST_SHARE = 0.5
LONGEST_SHARE = 3.0


def normalise(text: str) -> str:
    text = _MARKUP.sub(" ", text.lower())
    text = _DASHES.sub("-", text)
    return _SPACE.sub(" ", text).strip()


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def fact_present(fact: Fact, text: str) -> bool:
    """A fact is kept when its words are there whatever the Markdown, case, dash or spacing. A date range
    is kept when its years (or "present") follow each other closely, whatever the month names."""
    haystack = normalise(text)
    if fact.kind != "dates":
        return normalise(fact.text) in haystack
    marks = [mark.lower() for mark in _YEAR_OR_NOW.findall(fact.text)]
    if not marks:
        return normalise(fact.text) in haystack
    if marks[-1] in ("current", "now", "today"):
        marks[-1] = "present"
    now_words = r"(?:present|current|now|today)"
    pattern = r".{0,30}?".join(now_words if mark == "present" else re.escape(mark) for mark in marks)
    return re.search(pattern, haystack) is not None


@dataclass(frozen=True)
class Judgement:
    junk: tuple[str, ...]  # why a person would call it junk; empty when it is a real CV
    kept: int
    total: int
    missing: tuple[Fact, ...]

    @property
    def complete(self) -> bool:
        return self.kept == self.total


def judge(pair: Pair, answer: str, *, rewrite: bool = True) -> Judgement:
    """Judge an improved CV against its pair. ``rewrite`` False: the answer is by design the CV re-laid with
    a review after it (the offline analyser), so being unchanged, longer or quoting the request is no fault.
    """
    reasons: list[str] = []
    text = answer.strip()
    if not text:
        reasons.append("empty")
    if _PLACEHOLDER.search(text) and not _PLACEHOLDER.search(pair.cv_text):
        reasons.append("placeholder")
    if _PROMPT_MARKERS.search(text):
        reasons.append("prompt echoed")
    if _FENCE.search(text):
        reasons.append("fenced")
    missing = tuple(fact for fact in pair.facts if not fact_present(fact, text))
    kept = len(pair.facts) - len(missing)
    if text and kept * 2 < len(pair.facts):
        reasons.append("most facts lost")
    if rewrite:
        reasons.extend(_not_a_rewrite(pair, text))
    return Judgement(junk=tuple(reasons), kept=kept, total=len(pair.facts), missing=missing)


def _not_a_rewrite(pair: Pair, text: str) -> list[str]:
    """What makes an answer no rewrite of this CV: the prompt's data pasted back, no change, a wrong size."""
    reasons = []
    request = normalise(pair.request)
    if len(request) >= 12 and request in normalise(text) and request not in normalise(pair.cv_text):
        reasons.append("request echoed")
    answer_norm, cv_norm = normalise(text), normalise(pair.cv_text)
    for line in pair.job_text.splitlines():
        line_norm = normalise(line)
        if len(line_norm) >= _ECHO_MIN_CHARS and line_norm in answer_norm and line_norm not in cv_norm:
            reasons.append("job text pasted")
            break
    answer_words, cv_words = _words(text), _words(pair.cv_text)
    if text and SequenceMatcher(None, cv_words, answer_words, autojunk=False).ratio() >= UNCHANGED_RATIO:
        reasons.append("unchanged")
    if text and len(answer_words) < SHORTEST_SHARE * len(cv_words):
        reasons.append("far shorter")
    if len(answer_words) > LONGEST_SHARE * len(cv_words):
        reasons.append("far longer")
    return reasons
