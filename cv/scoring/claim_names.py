"""The organisations and job titles an improved CV names that the person's text does not (cv.scoring.claims):
capitalised names in role lines and prose, and a title moved to another employer.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from cv.scoring import matching
from cv.scoring.claim_figures import YEAR, read_dates
from cv.scoring.verdict import CREDENTIAL_WORDS, Claim, alias_spans, blank_out, fold

_TITLE_WORDS = frozenset(
    """engineer developer programmer manager lead head director coordinator intern analyst consultant designer
    architect officer specialist executive scientist administrator assistant associate principal staff senior
    junior chief vp president founder co-founder cto ceo cfo coo cmo owner advisor adviser strategist
    researcher technician accountant teacher nurse supervisor representative editor writer marketer producer
    recruiter trainee apprentice fellow contractor freelancer tester manageress partner""".split()
)

ORG_SUFFIXES = frozenset("ltd limited inc incorporated llc gmbh plc corp co ag sa bv".split())

# "and" joins two names more often than it is part of one ("Google and Amazon"); "&" is part of one.
CONNECTORS = frozenset("of & the de der des du la le für fur".split())

_NOT_NAMES = frozenset(
    """i present current now today remote hybrid onsite on-site full-time part-time monday tuesday wednesday
    thursday friday saturday sunday january february march april may june july august september october
    november december jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)

_ORG_PREPOSITIONS = frozenset("at for with joined from by client clients partner partners including".split())

_SENTENCE_END = re.compile(r"[.!?:;|·•—]\s*$|\s-\s*$|\(\s*$")

TOKEN = re.compile(r"[^\W\d_][\w'.+#&/-]*", re.UNICODE)

_ROLE_SECTIONS = {"experience", "education", "certifications", "projects"}

MAX_ROLE_LINE_WORDS = 16


def line_sections(text: str) -> list[str | None]:
    sections: list[str | None] = []
    current: str | None = None
    for line in text.splitlines():
        key = matching.section_of_heading(line)
        if key is not None:
            current = key
        sections.append(current)
    return sections


def name_claims(improved: str, raw_improved: str, support: str, known: set[str]) -> list[Claim]:
    """Organisations, titles and named credentials: capitalised names the person's text does not have."""
    # A title in a role line is a claim about that role: it needs the same title, capitalised as a title, in the
    # person's text ("Junior Developer" is not backed by "two junior developers").
    support_folded = " ".join(fold(t) if t[:1].isupper() else "~" for t in TOKEN.findall(support))
    claims: list[Claim] = []
    raw_lines = matching.normalise(raw_improved).splitlines()
    lines = improved.splitlines()
    sections = line_sections(improved)
    for index, line in enumerate(lines):
        raw = raw_lines[index] if index < len(raw_lines) else line
        if not line.strip() or matching.section_of_heading(raw) is not None:
            continue
        section = sections[index]
        is_heading = raw.lstrip().startswith("#") or (raw.strip().startswith("**") and raw.strip().endswith("**"))
        role_line = bool(re.search(YEAR, raw)) and len(raw.split()) <= MAX_ROLE_LINE_WORDS
        role_line = role_line or (is_heading and section in _ROLE_SECTIONS) or section == "certifications"
        if is_heading and not role_line and section not in _ROLE_SECTIONS and index > 0:
            continue
        masked = blank_out(line, [(start, end) for start, end, _ in alias_spans(line)])
        for phrase, in_role in name_phrases(masked, role_line=role_line):
            tokens = [t for t in phrase if fold(t) not in CONNECTORS]
            if not tokens:
                continue
            folded = [fold(t) for t in tokens]
            unknown = [f for f in folded if f not in known and f not in ORG_SUFFIXES]
            if not unknown and not (in_role and is_title(folded) and not _phrase_in(folded, support_folded)):
                continue
            if not unknown and not is_title(folded):
                continue
            text = " ".join(phrase).strip(" ,.;:")
            claims.append(Claim(_name_kind(folded, section), text))
    return claims


def name_phrases(line: str, *, role_line: bool) -> list[tuple[list[str], bool]]:
    """Runs of capitalised words (joined by "of", "&" ...) that may name something, as token lists."""
    phrases: list[tuple[list[str], bool]] = []
    current: list[str] = []
    previous_end = 0
    previous_word = ""
    first_in_sentence = True
    for match in TOKEN.finditer(line):
        word = match.group(0).rstrip(".,'")
        gap = line[previous_end : match.start()]
        boundary = (
            previous_end == 0
            or bool(_SENTENCE_END.search(line[max(0, match.start() - 6) : match.start()]))
            or "," in gap
        )
        if current and (gap.strip() not in ("", "&") or boundary):
            # Outside role lines, words before a colon are a label ("Tech Stack: Python"), not a name.
            if role_line or not gap.lstrip().startswith(":"):
                phrases.append((current, role_line))
            current = []
        if previous_end == 0 or _SENTENCE_END.search(line[max(0, match.start() - 6) : match.start()]):
            first_in_sentence = True
        capitalised = word[:1].isupper()
        acronym = len(word) > 1 and word.replace("-", "").isupper()
        eligible = capitalised and len(word) > 1 and fold(word) not in _NOT_NAMES
        if eligible and acronym and not role_line and previous_word.lower() not in _ORG_PREPOSITIONS:
            eligible = False
        # A sentence in prose starts with a verb as often as with a name; a title word there is still a title.
        if eligible and first_in_sentence and not role_line and fold(word) not in _TITLE_WORDS:
            eligible = False
        # "Exchange semester, ETH Zurich": a role line may start with an ordinary word too.
        if eligible and role_line and not current and _followed_by_lowercase(line, match.end()):
            eligible = False
        if eligible:
            current.append(word)
        elif current and word.lower() in CONNECTORS:
            current.append(word)
        elif current:
            phrases.append((current, role_line))
            current = []
        first_in_sentence = False
        previous_end = match.end()
        previous_word = word
    if current:
        phrases.append((current, role_line))
    # A phrase never ends on a connector ("Leeds and").
    cleaned = []
    for tokens, in_role in phrases:
        while tokens and tokens[-1].lower() in CONNECTORS:
            tokens = tokens[:-1]
        if tokens:
            cleaned.append((tokens, in_role))
    return cleaned


_WORD_AFTER = re.compile(r"\s+([^\W\d_][\w-]*)")


def _followed_by_lowercase(line: str, end: int) -> bool:
    following = _WORD_AFTER.match(line, end)
    if following is None:
        return False
    word = following.group(1)
    return word[:1].islower() and word.lower() not in CONNECTORS


def is_title(folded: list[str]) -> bool:
    return any(word in _TITLE_WORDS for word in folded)


def _phrase_in(folded: list[str], support_folded: str) -> bool:
    return f" {' '.join(folded)} " in f" {support_folded} "


def _name_kind(folded: list[str], section: str | None) -> str:
    if section == "certifications" or any(word in CREDENTIAL_WORDS for word in folded):
        return "credential"
    if is_title(folded):
        return "title"
    return "organisation"


@dataclass(frozen=True)
class _Role:
    """A role line of the person's CV: its distinctive names, its date ranges and its text as compared."""

    names: frozenset[str]
    ranges: frozenset[tuple[int, str]]
    text: str


def _capitalised_key(text: str) -> str:
    return " ".join(fold(t) if t[:1].isupper() else "~" for t in TOKEN.findall(text))


def _roles(support: str) -> list[_Role]:
    lines = [line for line in support.splitlines() if read_dates(line).ranges]
    # The words of a title ("Marketing Coordinator") name no employer.
    names = [
        {
            fold(t)
            for phrase, _ in name_phrases(line, role_line=True)
            if not is_title([fold(t) for t in phrase])
            for t in phrase
        }
        for line in lines
    ]
    # A name is distinctive when no other role line has it: counted once, not by joining every other line's names.
    lines_with = Counter(name for line_names in names for name in line_names)
    roles = []
    for index, line in enumerate(lines):
        distinctive = frozenset(name for name in names[index] - ORG_SUFFIXES if lines_with[name] == 1)
        roles.append(_Role(names=distinctive, ranges=frozenset(read_dates(line).ranges), text=_capitalised_key(line)))
    return roles


def pairing_claims(improved: str, support: str) -> list[Claim]:
    """Dates and titles moved from one role to another: a role line of the improved CV that names one of the
    person's roles (its employer or school) must carry that role's dates and title."""
    roles = [role for role in _roles(support) if role.names]
    # Distinctive names belong to one role each: a role line is paired through this index, not every role.
    role_of = {name: index for index, role in enumerate(roles) for name in role.names}
    claims: list[Claim] = []
    lines = improved.splitlines()
    for index, line in enumerate(lines):
        found = read_dates(line)
        if not found.range_spans or len(line.split()) > MAX_ROLE_LINE_WORDS:
            continue
        # The role's heading may be the line before ("### Ledgerly Ltd" then "Senior Engineer, 2021-present").
        previous = next((lines[i].strip() for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        heading_before = (
            len(previous.split()) <= 8
            and not previous.endswith(".")
            and not read_dates(previous).ranges
            and matching.section_of_heading(previous) is None
        )
        window = [previous, line] if heading_before else [line]
        words = {
            fold(t)
            for part in window
            for phrase, _ in name_phrases(part, role_line=True)
            if not is_title([fold(t) for t in phrase])
            for t in phrase
        }
        matches = {role_of[word] for word in words if word in role_of}
        if len(matches) != 1:
            continue
        role = roles[matches.pop()]
        for start, end, value in found.range_spans:
            if value not in role.ranges:
                claims.append(Claim("date", line[start:end].strip()))
        for phrase, _ in (found for part in window for found in name_phrases(part, role_line=True)):
            folded = [fold(t) for t in phrase if fold(t) not in CONNECTORS]
            if is_title(folded) and not _phrase_in(folded, role.text):
                claims.append(Claim("title", " ".join(phrase)))
    return claims
