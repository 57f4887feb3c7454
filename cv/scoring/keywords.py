"""The terms a recruiter scans a CV for, read from any job description, and whether a text covers them.

Sources, tried in this order on the job text; a span taken by one is not read again by the next:

1. The curated vocabulary (``cv.scoring.vocabulary``): canonical names, the other ways people write them, and the
   broader terms a specific one implies.
2. Codes and abbreviations the vocabulary does not know: capitals with the symbols and numbers that belong
   to them ("HACCP", "P&L", "FP&A", "NEWS2", "IFRS 16", "BS 7671"), product names written in CamelCase
   ("SystmOne"). "BLS/ACLS" is two keywords; "CI/CD" is one because the vocabulary says so.
3. Requirement lists read by their structure: the items after a cue ("experience with", "knowledge of",
   "proficiency in", "such as") and of a bullet that is only a list, split at commas, "and", "or" and "/",
   each a noun phrase of up to four words kept whole.
4. Domain phrases: runs of two or three content words that either name a skill in ESCO (the European
   skills taxonomy, shipped as ``cv/scoring/data/esco_phrases.txt``) or end in a word that heads skill phrases
   ("... care", "... analysis", "... law"). Generic words ("team", "experience", "role") never make or end
   a keyword.
5. Items of lists: short items of lists in prose ("goods in, picking and despatch"), and single nouns of
   lists of three or more that are not lists of verbs ("Train, schedule and coach the team").

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
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import IntEnum
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from cv.scoring.vocabulary import GENERIC_CAPITALISED, KIND_OF_CATEGORY, TERMS, Term

KINDS = ("skill", "tool", "credential", "domain", "language")
REQUIRED, PREFERRED = "required", "preferred"
IMPORTANCE = (REQUIRED, PREFERRED)
_ESCO_PHRASES = Path(__file__).parent / "data" / "esco_phrases.txt"
# How far apart (in words) the words of a multi-word keyword may sit in a CV line and still cover it.
_WINDOW_SLACK = 2

STOPWORDS = frozenset(
    """
    a an the of in on for to and or nor with by from at as into via using under within without about across
    per its it their them they your you our we us is are was were be been being that this these those such
    other any all each every some most more less than then also both either plus including include includes
    like up down out over after before during between through while where when who whom which what whose how
    why if so not no yes can could will would shall should may might must do does did done has have had
    having get gets got my me i he she his her him one two three four five six seven eight nine ten first
    second third etc e.g i.e ie eg vs per new own well very just only even ever never always often
    """.split()
)

# Words that never are a keyword on their own nor start or end a domain phrase.
GENERIC_WORDS = frozenset(
    """
    team teams teamwork experience experiences experienced role roles responsibility responsibilities ability
    abilities skill skills knowledge candidate candidates opportunity opportunities environment work works
    working job jobs position positions company companies organisation organization business businesses
    year years month months week weeks day days hour hours time times salary benefit benefits holiday
    holidays pension package range variety number level levels standard standards way ways part basis
    people person someone individual individuals colleague colleagues member members staff client clients
    customer customers area areas field fields site sites office offices place location role-holder duty
    duties task tasks activity activities thing things need needs requirement requirements essential
    desirable bonus plus advantage interest passion desire commitment attitude approach mindset culture
    value values mission vision goal goals aim aims target targets result results outcome outcomes impact
    quality priority priorities success chance career careers growth support help detail details
    understanding awareness familiarity exposure proficiency competency competencies capability
    capabilities track record background qualification qualifications degree equivalent minimum
    strong good great excellent outstanding exceptional solid sound proven demonstrable demonstrated relevant
    high higher low wide broad clear key main core various several many multiple new existing current
    daily weekly monthly quarterly annual annually regular full flexible hybrid remote friendly supportive
    busy fast-paced dynamic exciting passionate motivated driven compassionate calm organised organized
    reliable enthusiastic confident positive professional successful able willing ideal ideally
    similar related appropriate accurate effective efficient consistent together closely promptly safely
    preferred required desired mandatory optional
    senior junior lead principal head chief assistant trainee graduate junior-level mid-level entry-level
    report reports conditions condition programme programmes program programs scheme course courses
    evening evenings weekend weekends night nights morning mornings shift shifts patience empathy
    compassion respect honesty integrity enthusiasm resilience flexibility reliability punctuality kindness
    humour energy curiosity creativity ambition dignity choice
    london manchester birmingham leeds bristol york nottingham derby bath uk england wales scotland ireland
    europe usa
    """.split()
)

# Generic nouns that still open a compound skill before a skill head ("time management", "quality control",
# "performance reviews"); alone, or at the end of a phrase, they stay generic.
COMPOUND_GENERIC = frozenset("time quality performance customer client people staff team site business".split())

# Job titles end phrases ("qualified teacher", "healthcare assistants") without being a skill of their own;
# the vocabulary names the titles a recruiter does scan for ("Registered Nurse", "Sous Chef").
ROLE_WORDS = frozenset(
    """
    teacher teachers nurse nurses chef chefs electrician electricians solicitor solicitors lawyer lawyers
    analyst analysts accountant accountants manager managers engineer engineers assistant assistants
    officer officers director directors supervisor supervisors worker workers operative operatives student
    students apprentice apprentices trainee trainees specialist specialists technician technicians porter
    porters partner partners associate associates leader leaders owner owners contractor contractors
    controller controllers
    """.split()
)

# Verbs of job ads: they split phrases ("manage budgets" is about budgets).
ACTION_VERBS = frozenset(
    """
    act adapt administer advise analyse analyze apply assess assist attend become bring build carry check
    collaborate communicate complete conduct contribute coordinate create deliver develop drive embed enjoy
    ensure escalate establish evaluate explain follow handle help hit identify implement improve install
    join keep lead learn liaise maintain make manage negotiate offer own perform prepare prioritise
    prioritize produce promote provide read recognise recognize recruit reduce represent run share solve
    stay supervise support take teach uphold use want welcome work write look seek set mark investigate
    looking seeking join joining recruiting hiring grow growing expand love thrive ensure apply applying
    accept achieve add address agree allow arrange attract believe celebrate choose combine consider
    demonstrate discuss encourage engage enable enhance feel find gain give go inspire invest involve know
    listen meet move need obtain operate organise organize oversee reach receive remain require respond see
    serve show start suit think understand visit wish
    """.split()
)

# Nouns that end skill phrases in every trade ("wound care", "variance analysis", "competition law").
SKILL_HEADS = frozenset(
    """
    care management planning analysis analytics control safety assessment assessments testing law laws
    agreement agreements accounts accounting costing finding lighting research development prevention
    monitoring administration reporting hygiene rotation drafting diligence governance compliance
    regulations regulation procedures procedure installation maintenance inspection inspections design
    modelling modeling forecasting budgeting auditing audit audits reconciliation reconciliations recording
    documentation therapy medicine nursing surgery treatment diagnosis rehabilitation handling preparation
    cookery cooking baking butchery brewing mixology hospitality marketing
    sales engineering programming accountancy bookkeeping payroll taxation tax litigation conveyancing
    advocacy mediation arbitration negotiation contracts contract relations fit-out fit-outs wiring cabling
    welding plumbing carpentry joinery brickwork plastering tiling roofing glazing fabrication machining
    commissioning servicing repair repairs assurance protection security recovery logistics procurement
    purchasing merchandising scheduling dispatch teaching tutoring assessment curriculum pedagogy
    safeguarding counselling coaching review reviews
    """.split()
)

_AUXILIARY = frozenset({"is", "are", "am", "was", "were", "be", "been", "re", "we're", "they're"})
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
# A code joined by hyphens ("HEC-RAS", "COVID-19", "ISO-9001") is one token; an ordinary hyphenated word
# ("fast-paced", "Full-Time") is two.
_HYPHEN_CODE = r"[A-Z0-9]*[A-Z][A-Z0-9]+(?:-[A-Z0-9][A-Za-z0-9]*)+(?![\w-])"
_TOKEN = re.compile(rf"(?<![\w.])\.[A-Za-z]+|(?<![\w-]){_HYPHEN_CODE}|[A-Za-z0-9]+(?:[.&'+#][A-Za-z0-9]+)*[+#]*|[/&]")
_CLAUSE_BREAK = re.compile(r"[,;:()!?\[\]|\"•·]|\.(?:\s|$)|\s-\s|\n")
_ZIP = re.compile(r"^\d{5}$")
_NUMBER = re.compile(r"^\d{1,5}(?:[:-]\d{1,4})?$")
_ACRONYM = re.compile(r"^(?=(?:.*[A-Z]){2})[A-Z][A-Z0-9&+#]{1,7}s?$")
_CAMEL = re.compile(r"^[A-Z][a-z]+(?:[A-Z][a-z0-9]*)+$")
_CODE = re.compile(r"^(?:[A-Z][a-z]{1,6}\d{1,3}|\d[A-Z]{1,2}|[A-Z0-9]*[A-Z][A-Z0-9]+(?:-[A-Z0-9][A-Za-z0-9]*)+)$")
# A code followed by one of these is one keyword with it ("RF scanners", "MAR chart").
CODE_HEADS = frozenset(
    """
    chart charts check checks card cards testing test tests system systems scanner scanners scanning
    certificate certificates licence licences license training records reporting software platform
    equipment tools inspections inspection audits plans plan assessments procedures regulations style
    """.split()
)
_CREDENTIAL_CONTEXT = re.compile(
    r"\b(?:certifi\w*|qualifi\w*|licen[cs]e\w*|registration|registered|card|status|accredit\w*|diploma|"
    r"award|level \d|course|check|membership|chartered|passport)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Keyword:
    """A term of the job: shown as ``term``, of one of ``KINDS``, also recognised in a CV by its ``aliases``.

    ``source`` says which reader found it: "vocabulary", "code" (an abbreviation or product name) or
    "phrase" (a domain phrase or a list item).
    """

    term: str
    kind: str
    aliases: tuple[str, ...] = ()
    source: str = "vocabulary"


def normalise(text: str) -> str:
    """Fold typographic variants (non-breaking spaces, en dashes, ligatures, curly quotes) to plain ones."""
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    return text.replace("\u2019", "'").replace("\u2018", "'")


_SUFFIXES = (
    ("isation", "", 3),
    ("ization", "", 3),
    ("ation", "", 3),
    ("ement", "", 3),
    ("ment", "", 3),
    ("ing", "", 3),
    ("ister", "istr", 3),
    ("ysis", "ys", 3),
    ("ied", "y", 3),
    ("ed", "", 3),
    ("er", "", 4),
    ("ion", "", 4),
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English stemmer, so that the words of one family meet.

    negotiated, negotiating, negotiation -> negoti; audits, audited -> audit; planning, planned -> plan;
    administered, administration -> administr. Two suffixes at most; nouns and verbs meet, meaning
    does not have to (it only decides whether a CV names a keyword the job names).
    """
    w = word.lower().replace("'", "")
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for _ in range(2):
        for suffix, replacement, keep in _SUFFIXES:
            if w.endswith(suffix) and len(w) - len(suffix) >= keep:
                w = w[: len(w) - len(suffix)] + replacement
                break
        else:
            break
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    if w.endswith("at") and len(w) >= 5:
        w = w[:-2]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeious":
        w = w[:-1]
    return w


@lru_cache(maxsize=65536)
def _plain(word: str) -> str:
    """Lower case without a plural or possessive s: the form names and codes are compared in."""
    w = word.lower().replace("'", "")
    if word[-1:] == "s" and len(word) > 2 and word[:-1].isupper():
        return w[:-1]
    if len(w) > 3 and w.isalpha() and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-3] + "y" if w.endswith("ies") else w[:-1]
    return w


class _Token(NamedTuple):
    text: str
    plain: str
    stem: str
    start: int
    end: int
    clause: int
    line: int


def _tokens(text: str) -> list[_Token]:
    breaks = [m.start() for m in _CLAUSE_BREAK.finditer(text)]
    newlines = [m.start() for m in re.finditer("\n", text)]
    tokens: list[_Token] = []
    clause = line = 0
    b = n = 0
    for match in _TOKEN.finditer(text):
        while b < len(breaks) and breaks[b] < match.start():
            b += 1
            clause += 1
        while n < len(newlines) and newlines[n] < match.start():
            n += 1
            line += 1
        word = match.group(0)
        if word == "&":
            plain = word_stem = "and"
        else:
            plain, word_stem = _plain(word), stem(word)
        tokens.append(_Token(word, plain, word_stem, match.start(), match.end(), clause, line))
    return tokens


@dataclass(frozen=True)
class _Alias:
    words: tuple[str, ...]
    exact_case: bool
    term: Term

    @property
    def loose(self) -> bool:
        """Skills and domains are matched by stem in a CV; names, codes and languages only as written."""
        return _is_loose(self.term) and not self.exact_case


# Programming languages are skills but are names: "Rust" does not cover "rusty".
_STRICT_CATEGORIES = frozenset({"language"})


def _is_loose(term: Term) -> bool:
    return KIND_OF_CATEGORY[term.category] in ("skill", "domain") and term.category not in _STRICT_CATEGORIES


@lru_cache(maxsize=8192)
def _alias_tuple(alias: str) -> tuple[str, ...]:
    return tuple(m.group(0) for m in _TOKEN.finditer(normalise(alias)))


def _alias_words(alias: str) -> list[str]:
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
            words = _alias_words(name[1:] if exact else name)
            if not words:
                continue
            plain_words = tuple(words if exact else (("and" if w == "&" else _plain(w)) for w in words))
            alias = _Alias(words=plain_words, exact_case=exact, term=term)
            by_plain.setdefault(_plain(words[0]) if exact else plain_words[0], []).append(alias)
            if alias.loose:
                stems = tuple("and" if w == "&" else stem(w) for w in words)
                by_stem.setdefault(stems[0], []).append(_Alias(words=stems, exact_case=False, term=term))
    for table in (by_plain, by_stem):
        for aliases in table.values():
            aliases.sort(key=lambda a: len(a.words), reverse=True)
    return by_plain, by_stem


def _matches_at(tokens: list[_Token], i: int, alias: _Alias, *, by_stem: bool) -> bool:
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


def _vocabulary_spans(tokens: list[_Token], *, by_stem: bool) -> list[tuple[int, int, Term]]:
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
_GENERIC_STEMS = frozenset(stem(w) for w in GENERIC_WORDS)
_VERB_STEMS = frozenset(stem(w) for w in ACTION_VERBS)
_HEAD_STEMS = frozenset(stem(w) for w in SKILL_HEADS)


def _coordinated(tokens: list[_Token], text: str) -> list[tuple[int, int, str, str]]:
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


@lru_cache(maxsize=1)
def _two_word_skills() -> dict[tuple[str, str], Term]:
    """Two-word skills and domains by the stems of their words: ("supply", "agreement") -> Supply agreements."""
    pairs: dict[tuple[str, str], Term] = {}
    for term in TERMS:
        if not _is_loose(term):
            continue
        for name in (term.name, *term.aliases):
            words = _alias_words(name) if not name.startswith("=") else []
            if len(words) == 2 and all(w.isalpha() for w in words):
                pairs.setdefault((stem(words[0]), stem(words[1])), term)
    return pairs


@lru_cache(maxsize=1)
def _reversed_pairs() -> dict[tuple[str, str], Term]:
    """Two-word skills by their stems in reverse order: ("control", "stock") -> Stock control."""
    pairs: dict[tuple[str, str], Term] = {}
    for term in TERMS:
        if not _is_loose(term):
            continue
        for name in (term.name, *term.aliases):
            words = _alias_words(name) if not name.startswith("=") else []
            if len(words) == 2 and all(w.isalpha() for w in words):
                pairs.setdefault((stem(words[1]), stem(words[0])), term)
    return pairs


def _heading(line: str) -> bool:
    stripped = line.strip()
    return (
        bool(stripped)
        and not stripped.startswith(("-", "*", "•"))
        and (stripped.endswith(":") or (len(stripped.split()) <= 6 and not stripped.endswith((".", ",", ";"))))
    )


def _not_asked(text: str) -> bytearray:
    """Characters of the job text that describe the employer or its offer rather than the person sought."""
    mask = bytearray(len(text) + 1)
    position = 0
    in_offer = False
    for line in text.split("\n"):
        if _OFFER_HEADING.match(line):
            in_offer = True
        elif _heading(line):
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


def _is_content(token: _Token) -> bool:
    word = token.text.lower()
    return (
        word.isalpha()
        and len(word) > 2
        and word not in STOPWORDS
        and word not in GENERIC_WORDS
        and token.stem not in _GENERIC_STEMS
        and word not in ACTION_VERBS
        and not (word.endswith("ed") and token.stem in _VERB_STEMS)
    )


def _is_code(token: _Token) -> bool:
    word = token.text
    singular = word[:-1] if word.endswith("s") and word[:-1].isupper() else word
    if singular.upper() in GENERIC_CAPITALISED or word.startswith(("Mc", "Mac")):
        return False
    return bool(_ACRONYM.match(word) or _CAMEL.match(word) or _CODE.match(word))


def _shouting_lines(text: str) -> set[int]:
    """Lines written in capitals ("WHAT YOU WILL DO") are headings, not lists of abbreviations."""
    shouting = set()
    for number, line in enumerate(text.split("\n")):
        letters = re.sub(r"[^A-Za-z]", "", line)
        if len(letters) > 6 and len(re.sub(r"[^A-Z]", "", letters)) / len(letters) > 0.6:
            shouting.add(number)
    return shouting


def _code_kind(line: str, word: str) -> str:
    if _CAMEL.match(word):
        return "tool"
    return "credential" if _CREDENTIAL_CONTEXT.search(line) else "skill"


def _phrase_kind(words: list[str]) -> str:
    return "domain" if words[-1].lower() in _DOMAIN_HEADS else "skill"


def _vocabulary_keyword(term: Term) -> Keyword:
    return Keyword(
        term=term.name,
        kind=KIND_OF_CATEGORY[term.category],
        aliases=tuple(a.lstrip("=") for a in term.aliases),
        source="vocabulary",
    )


class _Mark(IntEnum):
    """What the extractor has made of a token of the job text."""

    FREE = 0  # not read yet
    TAKEN = 1  # part of a keyword an earlier source found
    NOT_ASKED = 2  # the employer, its offer or its self-description: never a keyword


class _Marks:
    """One mark per token of the job text."""

    def __init__(self, size: int):
        self._marks = bytearray(size)

    def __getitem__(self, index: int) -> _Mark:
        return _Mark(self._marks[index])

    def free(self, start: int, end: int | None = None) -> bool:
        end = start + 1 if end is None else end
        return not any(self._marks[start:end])

    def set(self, start: int, end: int, mark: _Mark) -> None:
        self._marks[start:end] = bytes((mark,)) * (end - start)


@dataclass(frozen=True)
class Requirement:
    """A keyword of the job with where the job asks for it: ``job_quote`` is the job's own words around it
    (an exact substring of the normalised job text) and ``importance`` is "required" or "preferred"."""

    keyword: Keyword
    importance: str
    job_quote: str


def job_keywords(job_text: str) -> list[Keyword]:
    """The keywords of a job, in the order the job first names them."""
    return [requirement.keyword for requirement in job_requirements(job_text)]


def job_requirements(job_text: str) -> list[Requirement]:
    """The keywords of a job with the job's words around each and whether it is required or preferred."""
    job_text = job_text or ""
    text = normalise(job_text)
    tokens = _tokens(text)
    found = _extract(text, tokens)
    preferred = _preferred_lines(text)
    return [
        Requirement(
            keyword=keyword,
            importance=PREFERRED if preferred[tokens[start].line] or _preferred_near(text, tokens, start) else REQUIRED,
            job_quote=_original_slice(job_text, text, *_quote(text, tokens[start].start, tokens[end - 1].end)),
        )
        for start, end, keyword in found
    ]


def _extract(text: str, tokens: list[_Token]) -> list[tuple[int, int, Keyword]]:
    """(first token, end token, keyword) of each keyword of the job text, in the order the job names them."""
    lines = text.split("\n")
    skipped = _not_asked(text)
    marks = _Marks(len(tokens))
    for i, token in enumerate(tokens):
        if skipped[token.start]:
            marks.set(i, i + 1, _Mark.NOT_ASKED)
    employer = _employer_words(tokens, text)
    for i, token in enumerate(tokens):
        if token.plain in employer and token.text[:1].isupper():
            marks.set(i, i + 1, _Mark.NOT_ASKED)
    found: dict[str, tuple[int, int, Keyword]] = {}

    def add(start: int, end: int, keyword: Keyword) -> None:
        key = keyword.term.lower()
        words = [_plain(w) for w in _alias_words(keyword.term)]
        # The employer's name is never asked of the person, whichever source read it.
        if key not in found and not (words and all(w in employer for w in words)):
            found[key] = (start, end, keyword)

    for start, end, term in _vocabulary_spans(tokens, by_stem=False):
        if not marks.free(start, end):
            continue
        marks.set(start, end, _Mark.TAKEN)
        # "Our team is recruiting a solicitor" is about the employer, not a skill.
        if end - start == 1 and tokens[start].text.endswith("ing") and start and tokens[start - 1].plain in _AUXILIARY:
            continue
        add(start, end, _vocabulary_keyword(term))
    # "Control stock", "Plan discharges": a two-word skill named verb first.
    reversed_pairs = _reversed_pairs()
    for i in range(len(tokens) - 1):
        pair = (tokens[i].stem, tokens[i + 1].stem)
        if marks.free(i, i + 2) and tokens[i].clause == tokens[i + 1].clause and pair in reversed_pairs:
            marks.set(i, i + 2, _Mark.TAKEN)
            add(i, i + 2, _vocabulary_keyword(reversed_pairs[pair]))
    two_word = _two_word_skills()
    for position, _, modifier, head in _coordinated(tokens, text):
        if marks.free(position) and (modifier, head) in two_word:
            marks.set(position, position + 1, _Mark.TAKEN)
            add(position, position + 1, _vocabulary_keyword(two_word[(modifier, head)]))

    shouting = _shouting_lines(text)
    for i, token in enumerate(tokens):
        if not marks.free(i) or token.line in shouting or not _is_code(token):
            continue
        code = token.text[:-1] if token.text.endswith("s") and token.text[:-1].isupper() else token.text
        end = i + 1
        nxt = tokens[end] if end < len(tokens) else None
        aliases: tuple[str, ...] = ()
        # "MD 21742" in an address is a state and its ZIP code, not a standard.
        if nxt is not None and len(code) == 2 and _ZIP.match(nxt.text):
            marks.set(i, end + 1, _Mark.NOT_ASKED)
            continue
        if nxt is not None and marks.free(end) and nxt.clause == token.clause and _NUMBER.match(nxt.text):
            code = f"{code} {nxt.text}"
            end += 1
        elif nxt is not None and marks.free(end) and nxt.clause == token.clause and nxt.text in CODE_HEADS:
            code, aliases = f"{code} {nxt.text}", (code,)
            end += 1
        marks.set(i, end, _Mark.TAKEN)
        # found is keyed by the lower-cased term: "Saas" and "SaaS" are one keyword.
        add(i, end, Keyword(term=code, kind=_code_kind(lines[token.line], token.text), aliases=aliases, source="code"))

    for start, end, keyword in _cued(tokens, text, marks):
        add(start, end, keyword)

    phrases = esco_phrases()
    i = 0
    while i < len(tokens):
        run_end = i
        while (
            run_end < len(tokens)
            and marks.free(run_end)
            and (_is_content(tokens[run_end]) or tokens[run_end].text.lower() in COMPOUND_GENERIC)
            and tokens[run_end].clause == tokens[i].clause
        ):
            run_end += 1
        if run_end - i < 2:
            i = max(run_end, i + 1)
            continue
        j = i
        while j < run_end - 1:
            for size in (3, 2):
                if j + size > run_end:
                    continue
                window = tokens[j : j + size]
                stems = tuple(t.stem for t in window)
                if all(t.text[:1].isupper() for t in window) or window[-1].text.lower() in ROLE_WORDS:
                    continue
                if not _is_content(window[-1]):
                    continue
                if stems in phrases or (stems[-1] in _HEAD_STEMS and stems[0] not in _HEAD_STEMS | _VERB_STEMS):
                    words = [t.text for t in window]
                    display = " ".join(w if _is_code(t) else w.lower() for w, t in zip(words, window, strict=True))
                    add(j, j + size, Keyword(term=display, kind=_phrase_kind(words), source="phrase"))
                    marks.set(j, j + size, _Mark.TAKEN)
                    j += size
                    break
            else:
                j += 1
        i = run_end
    for position, end, words in _enumerated(tokens, text, marks):
        add(position, end, Keyword(term=" ".join(words), kind="skill", source="phrase"))
    for start, end, keyword in _listed_nouns(tokens, text, marks):
        add(start, end, keyword)
    return sorted(found.values(), key=lambda item: item[0])


def _enumerated(tokens: list[_Token], text: str, marks: _Marks) -> list[tuple[int, int, list[str]]]:
    """Items of lists of three or more ("goods in, picking, replenishment and despatch"): a job lists the
    things it asks for. Items of one or two content words not read by an earlier source are kept."""
    lists: list[list[list[int]]] = []
    items: list[list[int]] = [[]]
    for i, token in enumerate(tokens):
        if i and (tokens[i - 1].line != token.line or _ends_list(text[tokens[i - 1].end : token.start])):
            lists.append(items)
            items = [[]]
        elif i and "," in text[tokens[i - 1].end : token.start]:
            items.append([])
        items[-1].append(i)
    lists.append(items)
    kept: list[tuple[int, int, list[str]]] = []
    for candidate in lists:
        if len(candidate) < 2:
            continue
        # "A, B, C and D": only the last comma-separated part is split at its "and".
        last = candidate[-1]
        joints = [k for k, i in enumerate(last) if tokens[i].plain in ("and", "or")]
        if not joints:
            continue
        candidate = [*candidate[:-1], last[: joints[-1]], last[joints[-1] + 1 :]]
        # The first item carries the sentence before the list: "Perform clinical skills such as venepuncture".
        first = candidate[0]
        run = len(first)
        while run > 0 and _is_content(tokens[first[run - 1]]):
            run -= 1
        introduced = run == 0 or tokens[first[run - 1]].plain in ("as", "including", "like", "eg", "e.g")
        items = [first[run:] if introduced else []] + [_strip_leading(tokens, item) for item in candidate[1:]]
        sizes = [len(item) for item in items if item]
        # "lighting, power and three-phase circuits" share a head; a long item means prose, not a list.
        if not sizes or max(sizes) > 2 or (sizes[-1] > 1 and all(size == 1 for size in sizes[:-1])):
            continue
        acceptable = [
            item
            for item in items
            if item
            and all(_is_content(tokens[k]) or marks[k] is _Mark.TAKEN for k in item)
            and tokens[item[-1]].text.lower() not in ROLE_WORDS
        ]
        if len(acceptable) < 3:
            continue
        for item in acceptable:
            if all(marks.free(k) and tokens[k].text[:1].islower() for k in item):
                kept.append((item[0], item[-1] + 1, [tokens[k].text for k in item]))
    return kept


# Words that open a requirement: what follows is the thing asked for ("experience with HEC-RAS and GIS").
_CUE = re.compile(
    r"\b(?:experience (?:with|in|of|using)|experienced (?:with|in)|knowledge (?:of|in)|knowledgeable (?:of|about|in)|"
    r"proficiency (?:in|with)|proficient (?:in|with)|familiarity with|familiar with|skilled in|skills in|"
    r"expertise in|expert in|understanding of|competence in|competent in|trained in|training in|"
    r"background in|qualified in|certified in|fluency in|fluent in|such as|including|e\.g\.)\s+",
    re.IGNORECASE,
)
# "the principles of hydrology": the thing asked for is after the "of".
_CONTAINER_NOUNS = frozenset(
    "principles practices practice concepts fundamentals basics use methods techniques theory tools".split()
)
_TRAILING_CONTAINERS = frozenset("principles concepts fundamentals basics".split())
# Lines that start with a list marker.
_BULLET = re.compile(r"^\s*(?:[-*\u2022\u00b7]|\d{1,2}[.)])\s+")
# A cued item longer than this is prose, not a term.
_MAX_ITEM_WORDS = 4


def _cued(tokens: list[_Token], text: str, marks: _Marks) -> list[tuple[int, int, Keyword]]:
    """Items named after a cue ("knowledge of A, B and C") or a bullet that is only a list ("- HEC-RAS, GIS
    and AutoCAD"): each item is a noun phrase of up to four words, split at commas, "and", "or" and "/", kept
    whole. A list ends at a full stop, a semicolon, a colon, a bracket or a line's end, and at an item that
    reads as prose."""
    token_starts = [t.start for t in tokens]
    starts = {bisect_left(token_starts, match.end()): False for match in _CUE.finditer(text)}
    offset = 0
    for line in text.split("\n"):
        bullet = _BULLET.match(line)
        if bullet:
            starts.setdefault(bisect_left(token_starts, offset + bullet.end()), True)
        offset += len(line) + 1
    kept: list[tuple[int, int, Keyword]] = []
    for first in sorted(starts):
        kept.extend(_cued_items(tokens, text, marks, first, whole_list=starts[first]))
    return kept


def _cued_items(
    tokens: list[_Token], text: str, marks: _Marks, first: int, *, whole_list: bool
) -> list[tuple[int, int, Keyword]]:
    """The items of the list that starts at token ``first``. With ``whole_list`` (a bullet) every item must be
    a noun phrase and nothing else, or none is kept: "- Review grading and stormwater plans" is a duty."""
    items: list[list[int]] = [[]]
    i = first
    while i < len(tokens) and len(items) <= 12:
        token = tokens[i]
        if i > first and (tokens[i - 1].line != token.line or _ends_list(text[tokens[i - 1].end : token.start])):
            break
        if i > first and "," in text[tokens[i - 1].end : token.start]:
            items.append([])
        if token.plain in ("and", "or", "/"):
            items.append([])
        else:
            items[-1].append(i)
        i += 1
    items = [item for item in items if item]
    phrases: list[tuple[int, int]] = []
    for item in items:
        phrase = _noun_phrase(tokens, item)
        if phrase is None:
            break
        start, end = phrase
        phrases.append(phrase)
        if end != item[-1] + 1:
            # "experience with pumps in wet wells": the list ends with the item it names.
            break
    if whole_list and (len(phrases) < 2 or len(phrases) < len(items) or phrases[-1][1] != items[-1][-1] + 1):
        return []
    kept = []
    for start, end in phrases:
        if not marks.free(start, end):
            continue
        window = tokens[start:end]
        # Names and codes keep their case ("AP style", "Civil 3D"); a capital that opens the item is dropped.
        words = [
            t.text if _is_code(t) or (k and t.text[:1].isupper()) else t.text.lower() for k, t in enumerate(window)
        ]
        if len(window) == 1 and window[0].text[:1].isupper() and not _is_code(window[0]):
            kind = "tool"
        else:
            kind = _phrase_kind(words)
        marks.set(start, end, _Mark.TAKEN)
        kept.append((start, end, Keyword(term=" ".join(words), kind=kind, source="phrase")))
    return kept


# A list of single nouns this long is a list of terms ("photography, video and audio"); two nouns joined by
# "and" are as often a phrase of prose.
_MIN_LIST_ITEMS = 3


def _listed_nouns(tokens: list[_Token], text: str, marks: _Marks) -> list[tuple[int, int, Keyword]]:
    """Single nouns that no other source read and that stand as items of a list of three or more ("grading,
    specifications and estimates"). Headings are not read; a list followed by its object is a list of verbs
    ("Train, schedule and coach the team"), and a word with a generic object is a verb ("reorder priorities")."""
    skipped_lines = {number for number, line in enumerate(text.split("\n")) if _heading(line)}
    skipped_lines |= _shouting_lines(text)
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        end = i
        while (
            end < len(tokens)
            and marks.free(end)
            and _phrase_word(tokens[end])
            and tokens[end].clause == tokens[i].clause
            and tokens[end].line not in skipped_lines
        ):
            end += 1
        if end > i:
            runs.append((i, end))
        i = max(end, i + 1)
    groups = _list_groups(tokens, text, runs)
    sizes: dict[int, int] = {}
    for group in groups:
        if group is not None:
            sizes[group] = sizes.get(group, 0) + 1
    # Lists whose items after the first are single words.
    single_tails = {group for group in sizes if group is not None}
    for number, (start, end) in enumerate(runs):
        group = groups[number]
        if group is not None and number and groups[number - 1] == group and end - start > 1:
            single_tails.discard(group)
    kept: list[tuple[int, int, Keyword]] = []
    for number, (start, end) in enumerate(runs):
        group = groups[number]
        if group is None or sizes[group] < _MIN_LIST_ITEMS:
            continue
        while start < end and (_is_modifier(tokens[start]) or _is_generic(tokens[start])):
            start += 1
        # The first item of a list of single words carries the words that open the sentence: "the desk covers
        # photography, video and podcasts".
        opens_list = number == 0 or groups[number - 1] != group
        if opens_list and group in single_tails:
            start = end - 1
        if end - start != 1 or not _whole_item(tokens, end):
            continue
        token = tokens[start]
        word = token.text
        after_verb_opener = start and tokens[start - 1].plain in _VERB_OPENERS
        if (
            after_verb_opener
            or not _is_content(token)
            or len(word) <= 3
            or word.endswith(("ed", "ly"))
            or word.lower() in ROLE_WORDS
            or (word[:1].isupper() and not _opens_sentence(tokens, text, start))
        ):
            continue
        marks.set(start, end, _Mark.TAKEN)
        kept.append((start, end, Keyword(term=word.lower(), kind=_phrase_kind([word]), source="phrase")))
    return kept


def _whole_item(tokens: list[_Token], end: int) -> bool:
    """Whether a run ends its list item ("attention to detail" goes on after "attention")."""
    if end >= len(tokens):
        return True
    following = tokens[end]
    return following.clause != tokens[end - 1].clause or following.plain in ("and", "or", "/")


def _opens_sentence(tokens: list[_Token], text: str, index: int) -> bool:
    if index == 0 or tokens[index - 1].line != tokens[index].line:
        return True
    return bool(re.search(r"[.!?:;]\s*$", text[tokens[index - 1].end : tokens[index].start]))


_VERB_OPENERS = frozenset("to will must can should shall may might would could".split())
_LIST_JOINT = re.compile(r"^\s*(?:,|/|&|,?\s*and|,?\s*or)\s*$")
_OBJECT_WORDS = frozenset("you them it us everyone everything yourself themselves".split())


def _list_groups(tokens: list[_Token], text: str, runs: list[tuple[int, int]]) -> list[int | None]:
    """Per run: the number of the list it is an item of (runs joined by a comma, "and", "or", "/" or "&"), or
    None when it stands alone. A list followed by its object ("Train, schedule and coach the team") is a list
    of verbs, not of terms: its runs get None."""
    groups: list[int | None] = [None] * len(runs)
    members: dict[int, list[int]] = {}
    for number in range(1, len(runs)):
        (_, previous_end), (start, _) = runs[number - 1], runs[number]
        left, right = tokens[previous_end - 1], tokens[start]
        if left.line == right.line and _LIST_JOINT.match(text[left.end : right.start]):
            previous_group = groups[number - 1]
            group = previous_group if previous_group is not None else number - 1
            groups[number - 1] = groups[number] = group
            members.setdefault(group, [number - 1]).append(number)
    for numbers in members.values():
        end = runs[numbers[-1]][1]
        following = tokens[end].plain if end < len(tokens) and tokens[end].line == tokens[end - 1].line else ""
        if following in _DETERMINERS or following in _OBJECT_WORDS:
            for number in numbers:
                groups[number] = None
    return groups


_DETERMINERS = frozenset("the a an its their your our his her all any each every this these those".split())


def _noun_phrase(tokens: list[_Token], item: list[int]) -> tuple[int, int] | None:
    """The (start, end) tokens of the noun phrase an item opens with, or None when it opens with none."""
    k = 0
    while k < len(item) and (tokens[item[k]].plain in STOPWORDS or _is_modifier(tokens[item[k]])):
        k += 1
    # "the principles of hydrology" -> "hydrology".
    if k + 1 < len(item) and tokens[item[k]].plain in _CONTAINER_NOUNS and tokens[item[k + 1]].plain == "of":
        k += 2
        while k < len(item) and (tokens[item[k]].plain in STOPWORDS or _is_modifier(tokens[item[k]])):
            k += 1
    end = k
    while end < len(item) and item[end] == item[k] + (end - k) and _phrase_word(tokens[item[end]]):
        end += 1
    # "mechanical engineering principles" asks for mechanical engineering.
    while end > k and (
        _is_generic(tokens[item[end - 1]]) or (end - k > 1 and tokens[item[end - 1]].plain in _TRAILING_CONTAINERS)
    ):
        end -= 1
    size = end - k
    if size == 0 or size > _MAX_ITEM_WORDS:
        return None
    # What follows must end the phrase: "data in Excel" is a phrase, "data that we collect" or "enforce the
    # codes" (a verb and its object) are not.
    if end < len(item) and (tokens[item[end]].plain not in STOPWORDS or tokens[item[end]].plain in _DETERMINERS):
        return None
    window = [tokens[item[m]] for m in range(k, end)]
    head, last = window[0], window[-1]
    if last.text.lower() in ROLE_WORDS or last.text.lower().endswith("ly"):
        return None
    # "questioning current processes" is a verb and its object; "planning" or "welding" alone is a skill.
    if head.text.lower().endswith("ing") and not _is_code(head) and (size > 1 or head.stem not in _HEAD_STEMS):
        return None
    if size == 1 and not (_is_code(last) or (_is_content(last) and len(last.text) > 3)):
        return None
    return item[k], item[end - 1] + 1


def _trailing_container(token: _Token, size: int) -> bool:
    return size > 1 and token.plain in _TRAILING_CONTAINERS


def _is_generic(token: _Token) -> bool:
    return token.text.lower() in GENERIC_WORDS or token.stem in _GENERIC_STEMS


def _phrase_word(token: _Token) -> bool:
    word = token.text.lower()
    if _is_code(token):
        return True
    return (
        any(ch.isalpha() for ch in word)
        and word not in STOPWORDS
        and word not in ACTION_VERBS
        and not (word.endswith("ed") and token.stem in _VERB_STEMS)
        and token.text not in ("&", "/")
    )


def _is_modifier(token: _Token) -> bool:
    """Words that qualify a requirement without being part of it ("strong", "working", "relevant")."""
    word = token.text.lower()
    return (word in GENERIC_WORDS and word not in SKILL_HEADS) or word.endswith("ly")


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


def _employer_words(tokens: list[_Token], text: str) -> frozenset[str]:
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
    cued.update(name for name in edge_names if counts[name] >= 2)
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
        if any(stem(w) in _HEAD_STEMS or stem(w) in _VERB_STEMS for w in content):
            continue
        words.update(content)
    return frozenset(words)


def _name_plains(name: str) -> list[str]:
    return [_plain(w) for w in _alias_words(name) if w not in ("&", "/") and _plain(w) not in STOPWORDS]


@lru_cache(maxsize=1)
def _known_plains() -> frozenset[str]:
    """The plain words of the vocabulary's names and aliases: a known term is not an employer's name."""
    plains: set[str] = set()
    for term in TERMS:
        for name in (term.name, *term.aliases):
            plains.update(_plain(w) for w in _alias_words(name.lstrip("=")))
    return frozenset(plains)


_PREFERRED = re.compile(
    r"\b(?:nice[ -]to[ -]have|preferred|preferably|a plus|an? (?:big |huge )?(?:plus|bonus|advantage)|bonus|"
    r"desirable|desired|ideally|advantageous|would be (?:great|good|helpful|beneficial))\b",
    re.IGNORECASE,
)


def _preferred_lines(text: str) -> list[bool]:
    """Per line: whether it sits under a heading that asks for nice-to-haves ("Preferred qualifications",
    "Nice to have:")."""
    flags = []
    under_preferred = False
    for line in text.split("\n"):
        if _heading(line) and not re.search(r"\b(?:is|are)\b", line):
            under_preferred = bool(_PREFERRED.search(line))
        flags.append(under_preferred)
    return flags


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence (or list line) around text[start:end]."""
    left = max(text.rfind(mark, 0, start) for mark in (". ", "; ", "\n", "! ", "? ")) + 1
    rights = [p for p in (text.find(mark, end) for mark in (". ", "; ", "\n", "! ", "? ")) if p != -1]
    right = min(rights) if rights else len(text)
    return left, right


def _preferred_near(text: str, tokens: list[_Token], index: int) -> bool:
    left, right = _sentence_bounds(text, tokens[index].start, tokens[index].end)
    return bool(_PREFERRED.search(text, left, right))


# A job quote is at most this long on each side of the term.
_QUOTE_SIDE = 60


def _quote(text: str, start: int, end: int) -> Span:
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


def _strip_leading(tokens: list[_Token], item: list[int]) -> list[int]:
    while item and (tokens[item[0]].plain in STOPWORDS or tokens[item[0]].text.lower() in ACTION_VERBS):
        item = item[1:]
    return item


def _ends_list(gap: str) -> bool:
    return bool(re.search(r"[;:()!?]|\.(?:\s|$)|\s-\s", gap))


Span = tuple[int, int]


class TermIndex:
    """A text read once (a CV, an improved CV) to ask which keywords it covers, and with which of its words.

    ``named_terms``: the vocabulary terms the text itself names; ``vocabulary_terms``: those and the broader
    terms they imply (a CV naming Django REST Framework covers Django and Python). ``evidence`` gives the
    text's own words for a keyword (a synonym or abbreviation only through the vocabulary's aliases); a
    keyword is covered exactly when it has evidence.
    """

    def __init__(self, text: str):
        self.original = text or ""
        self.text = normalise(text)
        self.tokens = _tokens(self.text)
        self._positions: dict[str, list[int]] = {}
        self._stem_positions: dict[str, list[int]] = {}
        for position, token in enumerate(self.tokens):
            self._positions.setdefault(token.plain, []).append(position)
            self._stem_positions.setdefault(token.stem, []).append(position)
        spans: dict[str, Span] = {}
        for start, end, term in _vocabulary_spans(self.tokens, by_stem=True):
            spans.setdefault(term.name, self._chars(start, end))
        self._coordinated: dict[tuple[str, str], Span] = {}
        for modifier_at, head_at, modifier, head in _coordinated(self.tokens, self.text):
            self._coordinated.setdefault((modifier, head), self._chars(modifier_at, head_at + 1))
        two_word = _two_word_skills()
        for pair, span in self._coordinated.items():
            if pair in two_word:
                spans.setdefault(two_word[pair].name, span)
        self.named_terms = frozenset(spans)
        # A broader term is shown by the words of the specific one that implies it.
        pending = list(spans)
        by_name = _terms_by_name()
        while pending:
            name = pending.pop()
            implying = by_name.get(name)
            for broader in implying.implies if implying else ():
                if broader not in spans:
                    spans[broader] = spans[name]
                    pending.append(broader)
        self._term_spans = spans
        self.vocabulary_terms = frozenset(spans)

    def _chars(self, start: int, end: int) -> Span:
        return self.tokens[start].start, self.tokens[end - 1].end

    def _sequence(self, words: list[str]) -> Span | None:
        plains = [_plain(w) if w != "&" else "and" for w in words]
        tokens = self.tokens
        for i in self._positions.get(plains[0], ()):
            if i + len(plains) <= len(tokens) and all(tokens[i + k].plain == p for k, p in enumerate(plains)):
                return self._chars(i, i + len(plains))
        return None

    def _words_near(self, words: list[str]) -> Span | None:
        """Every content word of a phrase, by stem, within a few words of each other on one line."""
        wanted = {stem(w) for w in words if w.lower() not in STOPWORDS and w != "&"}
        if not wanted or any(s not in self._stem_positions for s in wanted):
            return None
        span = len(words) + _WINDOW_SLACK
        tokens = self.tokens
        rarest = min(wanted, key=lambda s: len(self._stem_positions[s]))
        for position in self._stem_positions[rarest]:
            line = tokens[position].line
            window = range(max(0, position - span + 1), min(len(tokens), position + span))
            near = {tokens[k].stem for k in window if tokens[k].line == line}
            if wanted <= near:
                # The window may be up to twice the span around the rarest word; check a real span fits.
                hits = sorted(k for k in window if tokens[k].line == line and tokens[k].stem in wanted)
                for a in range(len(hits)):
                    inside = [k for k in hits[a:] if k - hits[a] < span]
                    if wanted <= {tokens[k].stem for k in inside}:
                        return self._chars(hits[a], inside[-1] + 1)
        return None

    def _span(self, keyword: Keyword | str) -> Span | None:
        if isinstance(keyword, str):
            keyword = _keyword_for_name(keyword)
        if keyword.source == "vocabulary":
            if keyword.term in self._term_spans:
                return self._term_spans[keyword.term]
            term = _terms_by_name().get(keyword.term)
            if term is None or not _is_loose(term):
                return None
            names = [n for n in (term.name, *term.aliases) if not n.startswith("=")]
            for words in map(_alias_words, names):
                if len(words) > 1 and (found := self._words_near(words)):
                    return found
            return None
        words = _alias_words(keyword.term)
        if not words:
            return None
        if keyword.source == "code":
            for alias in keyword.aliases:
                if found := self._sequence(_alias_words(alias)):
                    return found
            if found := self._sequence(words):
                return found
            if len(words) > 1 and _NUMBER.match(words[-1]) is not None:
                return self._code_with_number(words)
            return None
        content = [stem(w) for w in words if w.lower() not in STOPWORDS]
        return (
            self._sequence(words)
            or self._words_near(words)
            or (self._coordinated.get((content[0], content[1])) if len(content) == 2 else None)
        )

    def covers(self, keyword: Keyword | str) -> bool:
        return self._span(keyword) is not None

    def evidence(self, keyword: Keyword | str) -> str | None:
        """The text's own words that show ``keyword``, or None when it does not show it."""
        span = self._span(keyword)
        return None if span is None else _original_slice(self.original, self.text, *span)

    def _code_with_number(self, words: list[str]) -> Span | None:
        """ "City & Guilds 2391" is in "City & Guilds 2391-52"; "BS 7671" in "BS 7671:2018"."""
        head, number = words[:-1], words[-1]
        pattern = r"(?<!\w)" + r"\s*".join(re.escape(w) for w in head) + rf"\s*{re.escape(number)}(?![0-9])"
        match = re.search(pattern, self.text, re.IGNORECASE)
        return match.span() if match else None


def _original_slice(original: str, normalised: str, start: int, end: int) -> str:
    """text[start:end] as the person wrote it: normalising keeps positions unless a character was expanded
    (a ligature), in which case the normalised words are the quote."""
    if len(original) == len(normalised) and normalise(original[start:end]) == normalised[start:end]:
        return original[start:end]
    return normalised[start:end]


@lru_cache(maxsize=1)
def _terms_by_name() -> dict[str, Term]:
    return {term.name: term for term in TERMS}


def _keyword_for_name(name: str) -> Keyword:
    """The keyword a display string stands for (a vocabulary name, a code, or a phrase)."""
    term = _terms_by_name().get(name)
    if term:
        return _vocabulary_keyword(term)
    words = _alias_words(name)
    is_code = len(words) >= 1 and all(
        _ACRONYM.match(w) or _CAMEL.match(w) or _CODE.match(w) or _NUMBER.match(w) for w in words
    )
    return Keyword(term=name, kind="skill", source="code" if is_code else "phrase")


def keyword_for(term: str, *, kind: str | None = None) -> Keyword:
    """The keyword a term read by someone else (the model) stands for: the vocabulary's own term when the whole
    term is one of its names or aliases, in any case ("postgres" is PostgreSQL), else a code or a phrase.
    ``kind``, when one of ``KINDS``, replaces the kind."""
    tokens = _tokens(normalise(term))
    spans = _vocabulary_spans(tokens, by_stem=False)
    whole = [found for start, end, found in spans if (start, end) == (0, len(tokens))]
    keyword = _vocabulary_keyword(whole[0]) if whole else _keyword_for_name(term.strip())
    return replace(keyword, kind=kind) if kind in KINDS else keyword


def quote_around(job_text: str, start: int, end: int) -> str:
    """The job's own words around ``normalise(job_text)[start:end]``: the quote ``job_requirements`` gives."""
    text = normalise(job_text)
    return _original_slice(job_text, text, *_quote(text, start, end))


def kinds_of(keywords: Iterable[Keyword]) -> dict[str, str]:
    return {keyword.term: keyword.kind for keyword in keywords}
