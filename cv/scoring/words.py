"""The words of a text as the keyword reader sees them: normalised, stemmed and split into tokens (each
with its line and clause), and the word lists that tell a content word from a generic one, a verb or a role.
"""

from __future__ import annotations

import re
import unicodedata
from enum import IntEnum
from functools import lru_cache
from typing import NamedTuple

from cv.scoring.vocabulary import GENERIC_CAPITALISED

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

AUXILIARY = frozenset({"is", "are", "am", "was", "were", "be", "been", "re", "we're", "they're"})

# A code joined by hyphens ("HEC-RAS", "COVID-19", "ISO-9001") is one token; an ordinary hyphenated word
# ("fast-paced", "Full-Time") is two.
_HYPHEN_CODE = r"[A-Z0-9]*[A-Z][A-Z0-9]+(?:-[A-Z0-9][A-Za-z0-9]*)+(?![\w-])"

TOKEN = re.compile(rf"(?<![\w.])\.[A-Za-z]+|(?<![\w-]){_HYPHEN_CODE}|[A-Za-z0-9]+(?:[.&'+#][A-Za-z0-9]+)*[+#]*|[/&]")

_CLAUSE_BREAK = re.compile(r"[,;:()!?\[\]|\"•·]|\.(?:\s|$)|\s-\s|\n")

ZIP_CODE = re.compile(r"^\d{5}$")

NUMBER = re.compile(r"^\d{1,5}[A-Z]?(?:[:-]\d{1,4})?$")

ACRONYM = re.compile(r"^(?=(?:.*[A-Z]){2})[A-Z][A-Z0-9&+#]{1,7}s?$")

CAMEL = re.compile(r"^[A-Z][a-z]+(?:[A-Z][a-z0-9]*)+$")

CODE = re.compile(r"^(?:[A-Z][a-z]{1,6}\d{1,3}|\d[A-Z]{1,2}|[A-Z0-9]*[A-Z][A-Z0-9]+(?:-[A-Z0-9][A-Za-z0-9]*)+)$")

# A code followed by one of these is one keyword with it ("RF scanners", "MAR chart").
CODE_HEADS = frozenset(
    """
    chart charts check checks card cards testing test tests system systems scanner scanners scanning
    certificate certificates licence licences license training records reporting software platform
    equipment tools inspections inspection audits plans plan assessments procedures regulations style
    """.split()
)


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
def plain_word(word: str) -> str:
    """Lower case without a plural or possessive s: the form names and codes are compared in."""
    w = word.lower().replace("'", "")
    if word[-1:] == "s" and len(word) > 2 and word[:-1].isupper():
        return w[:-1]
    if len(w) > 3 and w.isalpha() and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-3] + "y" if w.endswith("ies") else w[:-1]
    return w


class Token(NamedTuple):
    text: str
    plain: str
    stem: str
    start: int
    end: int
    clause: int
    line: int


def tokenise(text: str) -> list[Token]:
    breaks = [m.start() for m in _CLAUSE_BREAK.finditer(text)]
    newlines = [m.start() for m in re.finditer("\n", text)]
    tokens: list[Token] = []
    clause = line = 0
    b = n = 0
    for match in TOKEN.finditer(text):
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
            plain, word_stem = plain_word(word), stem(word)
        tokens.append(Token(word, plain, word_stem, match.start(), match.end(), clause, line))
    return tokens


GENERIC_STEMS = frozenset(stem(w) for w in GENERIC_WORDS)

VERB_STEMS = frozenset(stem(w) for w in ACTION_VERBS)

HEAD_STEMS = frozenset(stem(w) for w in SKILL_HEADS)


def is_content(token: Token) -> bool:
    word = token.text.lower()
    return (
        word.isalpha()
        and len(word) > 2
        and word not in STOPWORDS
        and word not in GENERIC_WORDS
        and token.stem not in GENERIC_STEMS
        and word not in ACTION_VERBS
        and not (word.endswith("ed") and token.stem in VERB_STEMS)
    )


def looks_like_code(token: Token) -> bool:
    word = token.text
    singular = word[:-1] if word.endswith("s") and word[:-1].isupper() else word
    if singular.upper() in GENERIC_CAPITALISED or word.startswith(("Mc", "Mac")):
        return False
    return bool(ACRONYM.match(word) or CAMEL.match(word) or CODE.match(word))


class Mark(IntEnum):
    """What the extractor has made of a token of the job text."""

    FREE = 0  # not read yet
    TAKEN = 1  # part of a keyword an earlier source found
    NOT_ASKED = 2  # the employer, its offer or its self-description: never a keyword


class Marks:
    """One mark per token of the job text."""

    def __init__(self, size: int):
        self._marks = bytearray(size)

    def __getitem__(self, index: int) -> Mark:
        return Mark(self._marks[index])

    def free(self, start: int, end: int | None = None) -> bool:
        end = start + 1 if end is None else end
        return not any(self._marks[start:end])

    def set(self, start: int, end: int, mark: Mark) -> None:
        self._marks[start:end] = bytes((mark,)) * (end - start)
