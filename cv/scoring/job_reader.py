"""A job description read into its keywords, source by source (see cv.scoring.keywords for the sources and
their order); a span of the text taken by one source is not read again by the next.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from cv.scoring.job_chunks import noun_phrases
from cv.scoring.job_context import (
    employer_words,
    not_asked,
    original_slice,
    preferred_lines,
    preferred_near,
    quote_span,
    shouting_lines,
)
from cv.scoring.job_lists import cued_keywords, listed_nouns
from cv.scoring.job_names import credential_phrases, defined_abbreviations
from cv.scoring.keywords import (
    PREFERRED,
    REQUIRED,
    Keyword,
    Requirement,
    alias_words,
    code_kind,
    coordinated,
    esco_phrases,
    phrase_kind,
    two_word_skills,
    verb_first_pairs,
    vocabulary_keyword,
    vocabulary_spans,
)
from cv.scoring.parse import Parsed, parse_text
from cv.scoring.words import (
    AUXILIARY,
    CODE_HEADS,
    COMPOUND_GENERIC,
    HEAD_STEMS,
    NUMBER,
    ROLE_WORDS,
    VERB_STEMS,
    ZIP_CODE,
    Mark,
    Marks,
    Token,
    is_content,
    looks_like_code,
    normalise,
    plain_word,
    tokenise,
)


def job_keywords(job_text: str) -> list[Keyword]:
    """The keywords of a job, in the order the job first names them."""
    return [requirement.keyword for requirement in job_requirements(job_text)]


def job_requirements(job_text: str) -> list[Requirement]:
    """The keywords of a job with the job's words around each and whether it is required or preferred."""
    return list(_requirements(job_text or ""))


# An analysis scores the same job several times (the CV, the answer, a repair, the claims check): it is parsed
# once per process and kept for the last few jobs.
@lru_cache(maxsize=32)
def _requirements(job_text: str) -> tuple[Requirement, ...]:
    text = normalise(job_text)
    tokens = tokenise(text)
    found = _extract(text, tokens)
    preferred = preferred_lines(text)
    return tuple(
        Requirement(
            keyword=keyword,
            importance=PREFERRED if preferred[tokens[start].line] or preferred_near(text, tokens, start) else REQUIRED,
            job_quote=original_slice(job_text, text, *quote_span(text, tokens[start].start, tokens[end - 1].end)),
        )
        for start, end, keyword in found
    )


class _Found:
    """The keywords read so far, keyed by lower-cased term ("Saas" and "SaaS" are one keyword): the first
    source to read a term keeps it. The employer's name is never asked of the person, whichever source read it."""

    def __init__(self, employer: frozenset[str]):
        self._employer = employer
        self._by_term: dict[str, tuple[int, int, Keyword]] = {}

    def add(self, start: int, end: int, keyword: Keyword) -> None:
        key = keyword.vocabulary_name.lower()
        words = [plain_word(w) for w in alias_words(keyword.term)]
        if key not in self._by_term and not (words and all(w in self._employer for w in words)):
            self._by_term[key] = (start, end, keyword)

    def in_job_order(self) -> list[tuple[int, int, Keyword]]:
        return sorted(self._by_term.values(), key=lambda item: item[0])


def _extract(text: str, tokens: list[Token]) -> list[tuple[int, int, Keyword]]:
    """(first token, end token, keyword) of each keyword of the job text, in the order the job names them.

    The sources run in the order of the module docstring of cv.scoring.keywords; each marks the tokens it
    takes, and a later source reads only free tokens."""
    marks = Marks(len(tokens))
    parsed = parse_text(text)
    employer = employer_words(tokens, text)
    _mark_not_asked(text, tokens, marks, employer)
    found = _Found(employer)
    for start, end, keyword in credential_phrases(tokens, marks):
        found.add(start, end, keyword)
    _read_vocabulary(tokens, text, marks, found)
    for start, end, keyword in defined_abbreviations(tokens, text, marks):
        found.add(start, end, keyword)
    _read_codes(tokens, text, marks, found)
    for start, end, keyword in cued_keywords(tokens, text, marks):
        found.add(start, end, keyword)
    for start, end, keyword in noun_phrases(parsed, text, marks):
        found.add(start, end, keyword)
    _read_phrases(tokens, marks, found, parsed)
    for start, end, keyword in listed_nouns(tokens, text, marks):
        found.add(start, end, keyword)
    return [
        (start, end, _joined_as_written(keyword, text, tokens, start, end))
        for start, end, keyword in found.in_job_order()
        if keyword.source == "vocabulary" or not _cuts_a_word(text, tokens, start, end)
    ]


def _cuts_a_word(text: str, tokens: list[Token], start: int, end: int) -> bool:
    """Whether a span starts or ends inside a hyphenated word ("critical construction projects" out of
    "mission-critical construction projects", "hec" out of "HEC-RAS")."""
    before = start > 0 and text[tokens[start - 1].end : tokens[start].start] == "-"
    after = end < len(tokens) and text[tokens[end - 1].end : tokens[end].start] == "-"
    return before or after


def _joined_as_written(keyword: Keyword, text: str, tokens: list[Token], start: int, end: int) -> Keyword:
    """The keyword with its words joined as the job joins them ("zero-downtime", "A/B tests"), when its words
    are the span's."""
    words = keyword.term.split(" ")
    if len(words) != end - start or len(words) < 2:
        return keyword
    if [plain_word(w) for w in words] != [token.plain for token in tokens[start:end]]:
        return keyword
    joints = [text[tokens[k - 1].end : tokens[k].start] for k in range(start + 1, end)]
    if all(joint.isspace() for joint in joints):
        return keyword
    joined = words[0] + "".join(
        (joint if joint in ("", "-") else " ") + word for joint, word in zip(joints, words[1:], strict=True)
    )
    return replace(keyword, term=joined)


def _mark_not_asked(text: str, tokens: list[Token], marks: Marks, employer: frozenset[str]) -> None:
    """The employer, its offer and its self-description, and the employer's name wherever it is written."""
    skipped = not_asked(text)
    for i, token in enumerate(tokens):
        if skipped[token.start] or (token.plain in employer and token.text[:1].isupper()):
            marks.set(i, i + 1, Mark.NOT_ASKED)


def _read_vocabulary(tokens: list[Token], text: str, marks: Marks, found: _Found) -> None:
    """Source 2: the curated vocabulary's terms and aliases, then its two-word skills written verb first
    ("Control stock", "Plan discharges") or coordinated ("data and business analysis")."""
    for start, end, term in vocabulary_spans(tokens, by_stem=False):
        if not marks.free(start, end):
            continue
        marks.set(start, end, Mark.TAKEN)
        # "Our team is recruiting a solicitor" is about the employer, not a skill.
        if end - start == 1 and tokens[start].text.endswith("ing") and start and tokens[start - 1].plain in AUXILIARY:
            continue
        found.add(start, end, vocabulary_keyword(term, _words(tokens, start, end)))
    pairs = verb_first_pairs()
    for i in range(len(tokens) - 1):
        pair = (tokens[i].stem, tokens[i + 1].stem)
        if marks.free(i, i + 2) and tokens[i].clause == tokens[i + 1].clause and pair in pairs:
            marks.set(i, i + 2, Mark.TAKEN)
            found.add(i, i + 2, vocabulary_keyword(pairs[pair]))
    two_word = two_word_skills()
    for position, _, modifier, head in coordinated(tokens, text):
        if marks.free(position) and (modifier, head) in two_word:
            marks.set(position, position + 1, Mark.TAKEN)
            found.add(position, position + 1, vocabulary_keyword(two_word[(modifier, head)]))


def _noun_phrase_at(parsed: Parsed, start: int, end: int) -> bool:
    return parsed.pos_at(end - 1) in ("NOUN", "PROPN") and parsed.pos_at(start) not in ("VERB", "AUX", "ADV")


def _words(tokens: list[Token], start: int, end: int) -> list[str]:
    return [token.text for token in tokens[start:end]]


def _read_codes(tokens: list[Token], text: str, marks: Marks, found: _Found) -> None:
    """Source 4: codes and abbreviations the vocabulary does not know ("HACCP", "IFRS 16", "SystmOne"), with
    the number or head word that belongs to them; never on a line written all in capitals."""
    lines = text.split("\n")
    shouting = shouting_lines(text)
    for i, token in enumerate(tokens):
        if not marks.free(i) or token.line in shouting or not looks_like_code(token):
            continue
        code = token.text[:-1] if token.text.endswith("s") and token.text[:-1].isupper() else token.text
        end = i + 1
        nxt = tokens[end] if end < len(tokens) else None
        aliases: tuple[str, ...] = ()
        # "MD 21742" in an address is a state and its ZIP code, not a standard.
        if nxt is not None and len(code) == 2 and ZIP_CODE.match(nxt.text):
            marks.set(i, end + 1, Mark.NOT_ASKED)
            continue
        if nxt is not None and marks.free(end) and nxt.clause == token.clause and NUMBER.match(nxt.text):
            code = f"{code} {nxt.text}"
            end += 1
        elif nxt is not None and marks.free(end) and nxt.clause == token.clause and nxt.text in CODE_HEADS:
            code, aliases = f"{code} {nxt.text}", (code,)
            end += 1
        marks.set(i, end, Mark.TAKEN)
        found.add(
            i, end, Keyword(term=code, kind=code_kind(lines[token.line], token.text), aliases=aliases, source="code")
        )


def _read_phrases(tokens: list[Token], marks: Marks, found: _Found, parsed: Parsed | None) -> None:
    """Source 7: runs of two or three free content words in one clause that name an ESCO skill or end in a
    word that heads skill phrases; a window of capitalised words (a name) or ending in a role word is not one,
    nor, where the parser tagged the text, one that opens with a verb or does not end in a noun ("follows
    safety", "action taken")."""
    phrases = esco_phrases()
    i = 0
    while i < len(tokens):
        run_end = i
        while (
            run_end < len(tokens)
            and marks.free(run_end)
            and (is_content(tokens[run_end]) or tokens[run_end].text.lower() in COMPOUND_GENERIC)
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
                if not is_content(window[-1]) or (parsed is not None and not _noun_phrase_at(parsed, j, j + size)):
                    continue
                if stems in phrases or (stems[-1] in HEAD_STEMS and stems[0] not in HEAD_STEMS | VERB_STEMS):
                    words = [t.text for t in window]
                    display = " ".join(
                        w if looks_like_code(t) else w.lower() for w, t in zip(words, window, strict=True)
                    )
                    found.add(j, j + size, Keyword(term=display, kind=phrase_kind(words), source="phrase"))
                    marks.set(j, j + size, Mark.TAKEN)
                    j += size
                    break
            else:
                j += 1
        i = run_end
