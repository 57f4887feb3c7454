"""The terms a recruiter scans a CV for: ``Keyword`` and ``Requirement``, the vocabulary's terms as keywords and
the vocabulary's spans in a text. Around it, in cv/scoring/: ``words`` (tokens, stems, word lists),
``job_reader`` (a job's keywords, source by source), ``job_lists`` (sources 3 and 5), ``job_context`` (what the
job does not ask, required or preferred, the job's words around a keyword) and ``term_index`` (whether a CV's
text covers a keyword).

Sources, tried in this order on the job text; a span taken by one is not read again by the next:

1. Credentials named by their head word ("Journeyman electrician license", "a valid food hygiene
   certificate"), unless the vocabulary knows more of the window than the trade it is for ("a Python
   certification" is left to it) (``cv.scoring.job_names``).
2. The curated vocabulary (``cv.scoring.vocabulary``): canonical names, the other ways people write them, and the
   broader terms a specific one implies. The keyword is shown as the job writes it ("experimentation",
   "Postgres"); ``Keyword.name`` keeps the vocabulary's term, whose aliases find it in a CV.
3. Terms defined with their abbreviation, either way round: "variable frequency drive (VFD)", "SRP (scaling and
   root planing)" (``cv.scoring.job_names``).
4. Codes and abbreviations the vocabulary does not know: capitals with the symbols and numbers that belong
   to them ("HACCP", "P&L", "FP&A", "NEWS2", "IFRS 16", "NFPA 70E"), product names written in CamelCase
   ("SystmOne"). "BLS/ACLS" is two keywords; "CI/CD" is one because the vocabulary says so.
5. Requirement lists read by their structure: the items after a cue ("experience with", "knowledge of",
   "proficiency in", "degree in", "such as"), of a bullet that is only a list, and after a colon inside a line
   ("statistics: hypothesis testing and regression"), split at commas, "and", "or" and "/", each a noun
   phrase of up to four words kept whole (``cv.scoring.job_lists``).
6. Noun phrases as a parser groups them (``cv.scoring.job_chunks`` over ``cv.scoring.parse``): any multi-word
   term of any trade ("window functions", "trial balance"), stripped of determiners, generic modifiers and a
   duty's verb; alone, a name, or a noun in a list of terms.
7. Domain phrases: runs of two or three content words that either name a skill in ESCO (the European
   skills taxonomy, shipped as ``cv/scoring/data/esco_phrases.txt``) or end in a word that heads skill phrases
   ("... care", "... analysis", "... law"). Generic words ("team", "experience", "role") never make or end
   a keyword.
8. Single nouns of lists of three or more that are not lists of verbs ("Train, schedule and coach the team").

The employer's name, which the questionnaire does not hold, is inferred from the job and never listed; what
the employer offers or says about itself is not read. ``job_requirements`` adds to each keyword whether the
job requires or prefers it and the job's own words around it; ``TermIndex.evidence`` gives the CV's own words
that show a keyword.

Job side matching is strict (what the job says is what the person is asked for); CV side matching is
lenient about inflection and word order, so "negotiated" covers "negotiation", "audits" covers "audit" and
"Plan discharges with the MDT" covers "discharge planning".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from cv.scoring.vocabulary import KIND_OF_CATEGORY, TERMS, Term
from cv.scoring.words import (
    ACRONYM,
    ACTION_VERBS,
    CAMEL,
    CODE,
    NUMBER,
    STOPWORDS,
    TOKEN,
    Token,
    normalise,
    plain_word,
    stem,
    tokenise,
)

KINDS = ("skill", "tool", "credential", "domain", "language")

REQUIRED, PREFERRED = "required", "preferred"

IMPORTANCE = (REQUIRED, PREFERRED)

_ESCO_PHRASES = Path(__file__).parent / "data" / "esco_phrases.txt"

CREDENTIAL_CONTEXT = re.compile(
    r"\b(?:certifi\w*|qualifi\w*|licen[cs]e\w*|registration|registered|card|status|accredit\w*|diploma|"
    r"award|level \d|course|check|membership|chartered|passport)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Keyword:
    """A term of the job: shown as ``term``, of one of ``KINDS``, also recognised in a CV by its ``aliases``.

    ``source`` says which reader found it: "vocabulary", "code" (an abbreviation or product name) or
    "phrase" (a domain phrase or a list item). A vocabulary keyword is shown as the job writes it
    ("experimentation", "Postgres") and ``name`` is the vocabulary term it stands for ("A/B testing",
    "PostgreSQL"), through which a CV's synonyms and abbreviations cover it.
    """

    term: str
    kind: str
    aliases: tuple[str, ...] = ()
    source: str = "vocabulary"
    name: str = ""

    @property
    def vocabulary_name(self) -> str:
        return self.name or self.term


@dataclass(frozen=True)
class _Alias:
    words: tuple[str, ...]
    exact_case: bool
    term: Term

    @property
    def loose(self) -> bool:
        """Skills and domains are matched by stem in a CV; names, codes and languages only as written."""
        return is_loose(self.term) and not self.exact_case


# Programming languages are skills but are names: "Rust" does not cover "rusty".
_STRICT_CATEGORIES = frozenset({"language"})


def is_loose(term: Term) -> bool:
    return KIND_OF_CATEGORY[term.category] in ("skill", "domain") and term.category not in _STRICT_CATEGORIES


@lru_cache(maxsize=8192)
def _alias_tuple(alias: str) -> tuple[str, ...]:
    return tuple(m.group(0) for m in TOKEN.finditer(normalise(alias)))


def alias_words(alias: str) -> list[str]:
    return list(_alias_tuple(alias))


@lru_cache(maxsize=1)
def _aliases() -> tuple[dict[str, list[_Alias]], dict[str, list[_Alias]]]:
    """Aliases by the plain form and by the stem of their first word, longest first."""
    by_plain: dict[str, list[_Alias]] = {}
    by_stem: dict[str, list[_Alias]] = {}
    for term in TERMS:
        names = [term.name, *term.aliases]
        if f"={term.name}" in term.aliases:
            names.remove(term.name)
        for name in names:
            exact = name.startswith("=")
            words = alias_words(name[1:] if exact else name)
            if not words:
                continue
            plain_words = tuple(words if exact else (("and" if w == "&" else plain_word(w)) for w in words))
            alias = _Alias(words=plain_words, exact_case=exact, term=term)
            by_plain.setdefault(plain_word(words[0]) if exact else plain_words[0], []).append(alias)
            if alias.loose:
                stems = tuple("and" if w == "&" else stem(w) for w in words)
                by_stem.setdefault(stems[0], []).append(_Alias(words=stems, exact_case=False, term=term))
    for table in (by_plain, by_stem):
        for aliases in table.values():
            aliases.sort(key=lambda a: len(a.words), reverse=True)
    return by_plain, by_stem


def _matches_at(tokens: list[Token], i: int, alias: _Alias, *, by_stem: bool) -> bool:
    if i + len(alias.words) > len(tokens):
        return False
    for offset, word in enumerate(alias.words):
        token = tokens[i + offset]
        if alias.exact_case:
            if token.text != word and not (token.text.endswith("s") and token.text[:-1] == word):
                return False
        elif (token.stem if by_stem else token.plain) != word:
            return False
    return True


def vocabulary_spans(tokens: list[Token], *, by_stem: bool) -> list[tuple[int, int, Term]]:
    """Greedy left to right, longest alias first: (first token, end token, term) of each vocabulary hit."""
    by_plain, by_stems = _aliases()
    spans: list[tuple[int, int, Term]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        candidates = [(alias, False) for alias in by_plain.get(token.plain, ())]
        if by_stem:
            candidates += [(alias, True) for alias in by_stems.get(token.stem, ())]
        candidates.sort(key=lambda candidate: len(candidate[0].words), reverse=True)
        for alias, stemmed in candidates:
            if _matches_at(tokens, i, alias, by_stem=stemmed):
                spans.append((i, i + len(alias.words), alias.term))
                i += len(alias.words)
                break
        else:
            i += 1
    return spans


@lru_cache(maxsize=1)
def esco_phrases() -> frozenset[tuple[str, ...]]:
    """Stemmed two- and three-word phrases of ESCO skill labels (see cv/scoring/data/README.md)."""
    phrases = set()
    for line in _ESCO_PHRASES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            phrases.add(tuple(stem(word) for word in line.split()))
    return frozenset(phrases)


_DOMAIN_HEADS = frozenset({"law", "laws", "act", "regulations", "legislation", "directive", "standards"})


def coordinated(tokens: list[Token], text: str) -> list[tuple[int, int, str, str]]:
    """(modifier position, head position, modifier stem, head stem) of each elided pair: "supply, distribution
    and agency agreements" names supply agreements and distribution agreements too."""
    pairs = []
    for h in range(3, len(tokens)):
        if tokens[h - 2].plain not in ("and", "or") or not tokens[h].text.isalpha():
            continue
        j = h - 3
        while j >= 0 and tokens[j].text.isalpha() and tokens[j].plain not in STOPWORDS:
            pairs.append((j, h, tokens[j].stem, tokens[h].stem))
            if j == 0 or "," not in text[tokens[j - 1].end : tokens[j].start]:
                break
            j -= 1
    return pairs


def _two_word_terms(*, verb_first: bool) -> dict[tuple[str, str], Term]:
    pairs: dict[tuple[str, str], Term] = {}
    for term in TERMS:
        if not is_loose(term):
            continue
        for name in (term.name, *term.aliases):
            words = alias_words(name) if not name.startswith("=") else []
            if len(words) == 2 and all(w.isalpha() for w in words):
                first, second = (words[1], words[0]) if verb_first else (words[0], words[1])
                pairs.setdefault((stem(first), stem(second)), term)
    return pairs


@lru_cache(maxsize=1)
def two_word_skills() -> dict[tuple[str, str], Term]:
    """Two-word skills and domains by the stems of their words: ("supply", "agreement") -> Supply agreements."""
    return _two_word_terms(verb_first=False)


@lru_cache(maxsize=1)
def verb_first_pairs() -> dict[tuple[str, str], Term]:
    """Two-word skills by their stems in reverse order: ("control", "stock") -> Stock control."""
    return _two_word_terms(verb_first=True)


def code_kind(line: str, word: str) -> str:
    if CAMEL.match(word):
        return "tool"
    return "credential" if CREDENTIAL_CONTEXT.search(line) else "skill"


def phrase_kind(words: list[str]) -> str:
    return "domain" if words[-1].lower() in _DOMAIN_HEADS else "skill"


def vocabulary_keyword(term: Term, written: Sequence[str] = ()) -> Keyword:
    """The keyword of a vocabulary term, shown as ``written`` (the words of the text that named it) when those
    are not simply the term's own name in another case."""
    shown = as_written(written, term.name)
    aliases = tuple(a.lstrip("=") for a in term.aliases)
    return Keyword(
        term=shown,
        kind=KIND_OF_CATEGORY[term.category],
        aliases=aliases if shown == term.name else (term.name, *aliases),
        source="vocabulary",
        name=term.name,
    )


def as_written(written: Sequence[str], name: str) -> str:
    """How to show a vocabulary term a text named with ``written``: the term's name when the words are its own
    in another case or number ("python", "CTEs"); else the words as written, for the report lists only what
    the job says ("Postgres", "k8s", "experimentation" rather than "A/B testing", "cycle counts" rather than
    "Stock control"), lower-cased unless a name or a code."""
    if not written or [plain_word(w) for w in written] == [plain_word(w) for w in alias_words(name)]:
        return name
    # "run the pass", "train and develop", "control stock": a duty the vocabulary knows; its name says the skill.
    if written[0].lower() in ACTION_VERBS or any(w.lower() in STOPWORDS for w in written[1:-1]):
        return name
    first, rest = written[0], list(written[1:])
    # A capital that only opens the sentence goes ("Data pipelines"); a capitalised name stays ("Level 3 Food").
    if rest and first[:1].isupper() and first[1:].islower() and all(not w[:1].isupper() for w in rest):
        first = first.lower()
    return " ".join([first, *rest])


@dataclass(frozen=True)
class Requirement:
    """A keyword of the job with where the job asks for it: ``job_quote`` is the job's own words around it
    (an exact substring of the normalised job text) and ``importance`` is "required" or "preferred"."""

    keyword: Keyword
    importance: str
    job_quote: str


Span = tuple[int, int]


@lru_cache(maxsize=1)
def terms_by_name() -> dict[str, Term]:
    return {term.name: term for term in TERMS}


def keyword_for_name(name: str) -> Keyword:
    """The keyword a display string stands for: a vocabulary name, the job's words for a vocabulary term, a
    code, or a phrase."""
    term = terms_by_name().get(name)
    if term:
        return vocabulary_keyword(term)
    return keyword_for(name)


def _unlisted_keyword(name: str) -> Keyword:
    words = alias_words(name)
    is_code = len(words) >= 1 and all(
        ACRONYM.match(w) or CAMEL.match(w) or CODE.match(w) or NUMBER.match(w) for w in words
    )
    return Keyword(term=name, kind="skill", source="code" if is_code else "phrase")


def keyword_for(term: str, *, kind: str | None = None) -> Keyword:
    """The keyword a term read by someone else (the model) stands for: the vocabulary's own term when the whole
    term is one of its names or aliases, in any case ("postgres" is PostgreSQL), else a code or a phrase.
    ``kind``, when one of ``KINDS``, replaces the kind."""
    tokens = tokenise(normalise(term))
    spans = vocabulary_spans(tokens, by_stem=False)
    whole = [found for start, end, found in spans if (start, end) == (0, len(tokens))]
    keyword = vocabulary_keyword(whole[0], [t.text for t in tokens]) if whole else _unlisted_keyword(term.strip())
    return replace(keyword, kind=kind) if kind in KINDS else keyword


def kinds_of(keywords: Iterable[Keyword]) -> dict[str, str]:
    return {keyword.term: keyword.kind for keyword in keywords}
