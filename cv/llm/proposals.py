"""What the model says of a job's requirements, held against the texts before any of it is used.

The model's reading (cv.llm.requirements) is a list of lines: terms, or whole lines of the job copied, then
"term => the CV's words" lines. Here they become requirements only as far as the job and the CV hold them:

- ``terms_of``: a line copied whole from the job is read as its list of terms, cue words dropped;
- ``proposed``: a term is placed in the job (``JobText``: not in a heading or in what the job says of the
  employer or its offer), and is not the employer's name, a duty or a piece of a sentence; its quote, kind and
  importance are read from the job text;
- ``checked``: every term is in the job and every quote in the CV (whitespace and case aside, whole words),
  generic or overlong terms are dropped, the list is bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cv.scoring import job_chunks, job_context, keywords, parse
from cv.scoring.job import JobRequirement
from cv.scoring.words import ACTION_VERBS, GENERIC_WORDS, ROLE_WORDS, STOPWORDS, normalise, tokenise

MAX_REQUIREMENTS = 40
MAX_TERM_CHARS = 60
MAX_TERM_WORDS = 5
MAX_QUOTE_CHARS = 240

# A small model often copies a requirement's whole line, not its terms ("Experience in accounts payable,
# payroll and general ledger."): such a line is cut at its list joints and its cue ("experience in") dropped.
_JOINTS = re.compile(r"\s*(?:[,;()]|\.(?:\s|$)|\s(?:and|or|and/or|as well as)\s)\s*", re.IGNORECASE)
_CUE = re.compile(
    r"^(?:(?:and|or)\s+)?(?:(?:a|an|the)\s+)?(?:(?:working|strong|solid|good|proven|excellent|hands-on|deep|"
    r"basic|sound|thorough)\s+)?(?:experience|knowledge|proficiency|familiarity|expertise|skills?|understanding|"
    r"degree|background)\s+(?:with|in|of|using|on)\s+|^(?:(?:and|or)\s+)?(?:of|in|with)\s+",
    re.IGNORECASE,
)
_IMPORTANCE_TAIL = re.compile(
    r"\s+(?:(?:is|are)\s+)?(?:preferred|required|desirable|essential|a plus|an advantage|a bonus|nice to have)$",
    re.IGNORECASE,
)
_LIST_MARK = re.compile(r"^\s*(?:[-*\u2022\u00b7]|\d{1,2}[.)])\s*")
_NONE = re.compile(r"^(?:none|null|n/?a|not (?:shown|found|mentioned)|-)?$", re.IGNORECASE)
# Words a term cannot hold: an object or a person, which only a duty or a sentence has ("troubleshoot it").
_SENTENCE_WORDS = frozenset("you your it them we our us they their he she his her".split())
# A verb and its preposition open a duty ("care for", "report to"); "of" and "in" open no duty ("Bachelor of
# Science", "Master in Finance").
_DUTY_PREPOSITIONS = frozenset("for to with on into from about through".split())

# Quotation marks and ellipses around a model's quote, and closing punctuation after it (not a leading dot:
# ".NET" is a term).
_QUOTE_MARKS = " \t\n\"'`\u201c\u201d\u00ab\u00bb*\u2026"
_CLOSING_MARKS = _QUOTE_MARKS + ".,;:"


def phrase_pattern(phrase: str) -> re.Pattern[str] | None:
    """``phrase`` as whole words, any whitespace between them, any case."""
    words = normalise(phrase).split()
    if not words:
        return None
    left = r"(?<!\w)" if words[0][0].isalnum() else ""
    right = r"(?!\w)" if words[-1][-1].isalnum() else ""
    return re.compile(left + r"\s+".join(re.escape(word) for word in words) + right, re.IGNORECASE)


def find(phrase: str, text: str) -> tuple[int, int] | None:
    """Where ``phrase`` stands in ``normalise(text)``, whitespace and case aside; None if nowhere."""
    pattern = phrase_pattern(phrase)
    match = pattern.search(normalise(text)) if pattern else None
    return match.span() if match else None


def quoted(value: object) -> str:
    """A model's quote without the quotation marks, ellipses and closing punctuation around it."""
    return value.lstrip(_QUOTE_MARKS).rstrip(_CLOSING_MARKS) if isinstance(value, str) else ""


def is_generic(term: str) -> bool:
    words = re.findall(r"[\w+#&]+", term.casefold())
    return all(word in STOPWORDS or word in GENERIC_WORDS for word in words)


def checked(items: Iterable[object], *, job_text: str, cv_text: str) -> tuple[JobRequirement, ...]:
    """The model's proposed requirements that hold against the texts (see the module docstring)."""
    job, cv = normalise(job_text), normalise(cv_text)
    kept: list[JobRequirement] = []
    seen: set[str] = set()
    for item in list(items)[: MAX_REQUIREMENTS * 2]:
        if not isinstance(item, dict):
            continue
        term = quoted(item.get("term"))
        if not term or len(term) > MAX_TERM_CHARS or len(term.split()) > MAX_TERM_WORDS or is_generic(term):
            continue
        at = find(term, job)
        if at is None:
            continue
        # As the job writes it, on one line ("interpersonal\n  skills" is "interpersonal skills").
        term = " ".join(job[at[0] : at[1]].split())
        key = term.casefold()
        if key in seen:
            continue
        seen.add(key)
        quote = quoted(item.get("job_quote"))[:MAX_QUOTE_CHARS]
        quote_at = find(quote, job) if quote else None
        if quote_at is not None and find(term, job[quote_at[0] : quote_at[1]]) is not None:
            job_quote = job_context.original_slice(job_text, job, *quote_at)
        else:
            job_quote = job_context.quote_around(job_text, *at)
        evidence = quoted(item.get("cv_evidence"))[:MAX_QUOTE_CHARS]
        evidence_at = find(evidence, cv) if evidence else None
        kind, importance = item.get("kind"), item.get("importance")
        kept.append(
            JobRequirement(
                term=term,
                kind=kind if kind in keywords.KINDS else "skill",
                importance=importance if importance in keywords.IMPORTANCE else keywords.REQUIRED,
                job_quote=job_quote,
                # The CV's own characters (an en dash stays one), not their folded form: a quote of the CV.
                cv_evidence=job_context.original_slice(cv_text, cv, *evidence_at) if evidence_at else None,
                proposed=item.get("proposed") is not False,
            )
        )
        if len(kept) == MAX_REQUIREMENTS:
            break
    return tuple(kept)


def lines_of(text: str) -> list[str]:
    """An answer's lines without list marks and the quotation marks around them."""
    lines = (_LIST_MARK.sub("", line).strip().strip(_QUOTE_MARKS) for line in text.splitlines())
    return [line for line in lines if line]


def terms_of(line: str) -> list[str]:
    """The terms a line of the model's list names: the line, or when it is longer than a term, the items of
    its list without their cue ("Experience in accounts payable, payroll and general ledger" names accounts
    payable, payroll and general ledger)."""
    if len(line) <= MAX_TERM_CHARS and len(line.split()) <= MAX_TERM_WORDS and not _JOINTS.search(line):
        return [line.rstrip(_CLOSING_MARKS)]
    pieces = (_CUE.sub("", piece.strip()).strip(_CLOSING_MARKS) for piece in _JOINTS.split(line))
    return [_IMPORTANCE_TAIL.sub("", piece) for piece in pieces if piece]


@dataclass(frozen=True)
class JobText:
    """The job text as the terms are placed in it: normalised, the parts that describe the employer or its
    offer, the lines under a "preferred" heading, the employer's name's words."""

    text: str
    offer: bytearray
    preferred: list[bool]
    employer: frozenset[str]

    @classmethod
    def of(cls, job_text: str) -> JobText:
        text = normalise(job_text)
        return cls(
            text=text,
            offer=job_context.not_asked(text),
            preferred=job_context.preferred_lines(text),
            employer=job_context.employer_words(tokenise(text), text),
        )

    def asked_at(self, term: str) -> tuple[int, int] | None:
        """Where the job first asks for ``term``: not in a heading (the position, the employer's name, a
        section's title) and not in what it says of the employer or its offer."""
        pattern = phrase_pattern(term)
        for match in pattern.finditer(self.text) if pattern else ():
            if not self.offer[match.start()] and not job_context.is_heading(self.line_at(match.start())[1]):
                return match.span()
        return None

    def line_at(self, start: int) -> tuple[int, str]:
        number = self.text.count("\n", 0, start)
        return number, self.text.split("\n")[number]


def proposed(term: str, job: JobText) -> dict[str, object] | None:
    """A term of the model's list as a requirement of the job, its job quote, kind and importance read from
    the job text; None when it is not one: not in the job but in a heading or in what the job says of the
    employer or its offer, the employer's name, a duty (it opens with a verb, or a word and a preposition:
    "care for patients") or a piece of a sentence."""
    words = [word.casefold() for word in re.findall(r"[\w+#&]+", term)]
    if not words or words[0] in ACTION_VERBS or _SENTENCE_WORDS.intersection(words):
        return None
    if len(words) > 2 and words[1] in _DUTY_PREPOSITIONS:
        return None
    if all(word in job.employer or word in ROLE_WORDS for word in words):
        return None
    at = job.asked_at(term)
    # As the job says it, the term must read as a keyword: a noun phrase, a name or a code, not a duty, a
    # count, a place or a job title (cv.scoring.job_chunks.reads_as_term).
    if at is None or not job_chunks.reads_as_term(parse.parse_text(job.text), *at):
        return None
    number, line = job.line_at(at[0])
    keyword = keywords.keyword_for(term)
    if keyword.source == "vocabulary":
        kind = keyword.kind
    elif keywords.CREDENTIAL_CONTEXT.search(term):
        kind = "credential"
    elif keyword.source == "code":
        kind = keywords.code_kind(line, term.split()[0])
    else:
        kind = keywords.phrase_kind(term.split())
    return {
        "term": term,
        "kind": kind,
        "importance": keywords.PREFERRED
        if job.preferred[number] or job_context.preferred_near_span(job.text, *at)
        else keywords.REQUIRED,
        "job_quote": job_context.quote_around(job.text, *at),
        "cv_evidence": None,
    }


def quotes_of(answer: str, terms: Sequence[str]) -> dict[str, str]:
    """The CV quote the evidence answer gives for each term it names ("term => quote"; NONE is no quote)."""
    asked = {" ".join(term.casefold().split()): term for term in terms}
    quotes: dict[str, str] = {}
    for line in lines_of(answer):
        named, arrow, quote = line.partition("=>")
        term = asked.get(" ".join(quoted(named).casefold().split()))
        quote = quoted(quote.strip())
        if arrow and term is not None and not _NONE.match(quote):
            quotes.setdefault(term, quote)
    return quotes
