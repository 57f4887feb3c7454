"""Noun phrases of a job that no earlier source read, as the parser groups them (cv.scoring.parse): a
multi-word term of any trade is read whole ("complex joins", "confidence intervals", "the fixed asset
system") without a word list having named it.

A phrase is kept as a keyword when, stripped of what qualifies it (determiners, quantifiers, generic
modifiers, a duty's verb: "the", "all", "monthly", "strong", "Reconcile"), it is one to four words ending in a
noun that is neither generic ("ability", "team", "role") nor a job title; none of its words was read by an
earlier source or belongs to the employer and its offer; it names no place, date, amount or person; and it
stands outside headings. Alone, a noun is kept only as an item of a list: an uncommon one in any list
("experimentation and reproducible workflows"), an everyday one ("video") only in a list of three or more
with two uncommon nouns ("photography, video and podcasts"); a name or a code alone is kept ("Looker").
Capitalised words inside a line ("Building Permits", "Order Picker") name a form, a department or a title,
and an adjective with a noun that heads no skill describes ("little supervision"); both are left to the
phrase sources after this one.
"""

from __future__ import annotations

import re
from typing import Any

from cv.scoring.job_context import is_heading, shouting_lines
from cv.scoring.keywords import CREDENTIAL_CONTEXT, Keyword, phrase_kind
from cv.scoring.parse import Parsed, common_words, may_be_verb, only_verb
from cv.scoring.words import (
    ACTION_VERBS,
    GENERIC_STEMS,
    GENERIC_WORDS,
    HEAD_STEMS,
    ROLE_WORDS,
    STOPWORDS,
    Mark,
    Marks,
    Token,
    looks_like_code,
)

_MAX_WORDS = 4

# A list of this many items is a list of terms ("photography, video and podcasts"); two nouns joined by "and"
# are as often a phrase of prose ("sores and signs of disease").
_MIN_LIST_ITEMS = 3

# Words that qualify a phrase without naming the thing asked for.
_QUALIFIERS = frozenset(
    """
    all any some several various other others each every many much more most few own such same certain
    daily weekly monthly quarterly annual yearly new current existing relevant appropriate related basic
    good great excellent strong solid proven clear sound high wide broad full general overall key main
    additional further similar different specific typical usual regular ongoing i ii iii iv v
    """.split()
)

# Heads that name nothing a recruiter scans for, beyond the generic words.
_EMPTY_HEADS = frozenset(
    """
    ability abilities basics way ways thing things lot lots kind kinds type types part parts range level
    levels year years month months week weeks day days hour hours time times date dates people person
    someone anyone everyone question questions answer answers idea ideas topic topics opportunity
    opportunities chance need needs role roles job jobs position positions company companies candidate
    candidates applicant applicants colleague colleagues member members head heads employee employees
    staff department departments organisation organization environment place workplace benefit benefits
    salary pay package office site location shift shifts schedule
    """.split()
)

_PRONOUN_TAGS = frozenset({"PRP", "PRP$", "WP", "WP$", "WDT", "EX"})

# Entities that are not requirements: places, dates, amounts, people.
_NOT_REQUIREMENTS = frozenset({"GPE", "LOC", "FAC", "DATE", "TIME", "MONEY", "PERCENT", "QUANTITY", "PERSON", "NORP"})

_BULLET_MARK = re.compile(r"[-*\u2022\u00b7]+")


def noun_phrases(parsed: Parsed | None, text: str, marks: Marks) -> list[tuple[int, int, Keyword]]:
    """(first token, end token, keyword) of each noun phrase kept as a keyword (module docstring)."""
    if parsed is None or not parsed.tokens:
        return []
    skipped_lines = {number for number, line in enumerate(text.split("\n")) if is_heading(line)}
    skipped_lines |= shouting_lines(text)
    chunks = list(parsed.doc.noun_chunks)
    # The items of each list: the pieces of a chunk ("trial balance and account analysis") and the chunks the
    # parser coordinates ("photography, video and podcasts"), keyed by the word the list hangs from.
    items: dict[int, int] = {}
    uncommon: dict[int, int] = {}
    for chunk in chunks:
        pieces = _pieces(chunk)
        key = _list_of(chunk)
        items[key] = items.get(key, 0) + len(pieces)
        uncommon[key] = uncommon.get(key, 0) + sum(_uncommon_noun(piece) for piece in pieces)
    kept: list[tuple[int, int, Keyword]] = []
    for chunk in chunks:
        pieces = _pieces(chunk)
        key = _list_of(chunk)
        size = max(len(pieces), items[key])
        # A list of terms: two items at least, each an uncommon noun; with three or more items, two such
        # nouns make the everyday words beside them terms too ("photography, video and podcasts").
        listed = (size > 1 or _coordinated(chunk), size >= _MIN_LIST_ITEMS and uncommon[key] >= 2)
        for piece in pieces:
            found = _keyword(parsed, text, piece, marks, skipped_lines, listed=listed)
            if found is not None:
                start, end, _ = found
                marks.set(start, end, Mark.TAKEN)
                kept.append(found)
    return kept


def _coordinated(chunk: Any) -> bool:
    root = chunk.root
    return root.dep_ == "conj" or any(child.dep_ == "conj" for child in root.children)


def _list_of(chunk: Any) -> int:
    """The index of the word a chunk's coordination hangs from: its first conjunct's root."""
    root = chunk.root
    while root.dep_ == "conj" and root.head is not root:
        root = root.head
    return int(root.i)


_DEGREE_WORDS = frozenset("bachelor bachelor's master master's degree diploma certificate associate doctorate".split())

# What a model's term must not hold, beyond what a noun phrase of the extractor must not: counts and amounts.
_NOT_IN_TERMS = _NOT_REQUIREMENTS | {"CARDINAL", "ORDINAL"}


def reads_as_term(parsed: Parsed | None, start: int, end: int) -> bool:
    """Whether the job's characters ``start:end`` (in the parsed, normalised text) read as a keyword, by the
    checks the extractor's noun phrases pass: no verb but as a modifier in front ("breaking news", "fixed
    assets"), no count, amount, date, place or person, no pronoun; ending in a noun or a code that is not a job
    title; not an everyday word alone. A term someone else proposed (the model) is held to them; without the
    parser, every term passes."""
    if parsed is None:
        return True
    words = [word for word in parsed.doc.char_span(start, end, alignment_mode="expand") or () if not word.is_space]
    words = [word for word in words if not (word.is_punct and word.text not in ("&", "+", "#", "-", "/"))]
    if not words:
        return False
    # "and chairside assistance", "including teeth cleaning", "systems: review parameters", "formal education in
    # engineering": a piece of a sentence. A degree names its subject ("Bachelor's degree in finance").
    # "Class A", "Hepatitis A": a capital letter ends a name.
    ends_in_letter = len(words) > 1 and len(words[-1].text) == 1 and words[-1].text.isupper()
    if words[0].lower_ in STOPWORDS or (words[-1].lower_ in STOPWORDS and not ends_in_letter):
        return False
    if ":" in parsed.doc.text[start:end]:
        return False
    if any(word.pos_ == "ADP" for word in words[1:-1]) and words[0].lower_ not in _DEGREE_WORDS:
        return False
    last = words[-1]
    last_token = parsed.token_at(last.idx)
    if last_token >= len(parsed.tokens) or parsed.tokens[last_token].start != last.idx:
        return False
    head = parsed.tokens[last_token]
    # "- Train pickers", "and process change orders": a word that may be a verb, opening a line or after
    # "to", "and" or "or", opens a duty, whatever the tagger made of it.
    if (
        len(words) > 1
        and may_be_verb(words[0].lower_)
        and (_opens_line(words[0]) or _after(words[0], ("to", "and", "or")))
    ):
        return False
    # A number or an entity after a code belongs to it ("OSHA 30", "ISO 9001", "Class A"); elsewhere it is a
    # count, an amount, a date or a place ("8", "$80,000", "Aged 23").
    for position, word in enumerate(words):
        after_code = position > 0 and looks_like_code(_token(parsed, words[position - 1]))
        if not after_code and (word.ent_type_ in _NOT_IN_TERMS or word.like_num):
            return False
    if any(word.tag_ in _PRONOUN_TAGS or word.pos_ in ("AUX", "PRON", "SYM") for word in words):
        return False
    # "order picking", "cost estimating": a noun and a gerund name a skill; a verb anywhere else is a duty.
    gerund_head = len(words) > 1 and last.tag_ == "VBG" and words[-2].pos_ in ("NOUN", "PROPN")
    for position, word in enumerate(words):
        modifier = position == 0 and len(words) > 1 and word.tag_ in ("VBG", "VBN")
        code = looks_like_code(_token(parsed, word))
        if word.pos_ == "VERB" and not (modifier or code or (gerund_head and word is last)):
            return False
    code_number = len(words) > 1 and last.like_num and looks_like_code(_token(parsed, words[-2]))
    if not (last.pos_ in ("NOUN", "PROPN") or gerund_head or code_number or looks_like_code(head)):
        return False
    if head.text.lower() in ROLE_WORDS:
        return False
    alpha = [word for word in words if word.is_alpha]
    return not (len(alpha) == 1 and len(words) == 1 and alpha[0].lower_ in common_words() and not _is_name(head, last))


def _token(parsed: Parsed, word: Any) -> Token:
    index = min(parsed.token_at(word.idx), len(parsed.tokens) - 1)
    return parsed.tokens[index]


def _pieces(chunk: Any) -> list[list[Any]]:
    """A chunk split at commas, "and", "or" and "/": "the trial balance and account analysis" is two."""
    pieces: list[list[Any]] = [[]]
    for word in chunk:
        if word.text in (",", "/") or word.lower_ in ("and", "or", "nor"):
            pieces.append([])
        elif not word.is_space:
            pieces[-1].append(word)
    return [piece for piece in pieces if piece]


def _keyword(
    parsed: Parsed, text: str, piece: list[Any], marks: Marks, skipped_lines: set[int], *, listed: tuple[bool, bool]
) -> tuple[int, int, Keyword] | None:
    words = _trimmed(piece)
    # A place, a date, an amount or a person ("Hagerstown", "Dr Lopez") is no requirement; "monthly" in
    # front of "journal entries" only qualifies it and is trimmed.
    if not words or any(word.ent_type_ in _NOT_REQUIREMENTS for word in words):
        return None
    tokens = parsed.tokens
    first, last = parsed.token_at(words[0].idx), parsed.token_at(words[-1].idx)
    if last >= len(tokens) or tokens[first].start != words[0].idx or tokens[last].start != words[-1].idx:
        return None
    end = last + 1
    window = tokens[first:end]
    if not 1 <= len(window) <= _MAX_WORDS or not marks.free(first, end):
        return None
    if window[0].line != window[-1].line or window[0].line in skipped_lines:
        return None
    head = window[-1]
    if words[-1].pos_ not in ("NOUN", "PROPN") or head.text.lower() in ROLE_WORDS or _is_empty(head):
        return None
    if any(not (t.text[:1].isalnum() or t.text in ("&", "+", "#")) for t in window):
        return None
    if len(window) == 1:
        # "Higher Education" cut to "Education" names no requirement.
        cut_name = any(word.text[:1].isupper() and word.is_alpha and word not in words for word in piece)
        in_list, in_term_list = listed
        as_item = _single_noun(head) and (in_term_list or (in_list and head.text not in common_words()))
        if cut_name or not (_is_name(head, words[0]) or as_item):
            return None
    elif all(t.text[:1].isupper() and not looks_like_code(t) for t in window):
        return None
    elif len(window) == 2 and words[0].tag_ == "JJ" and head.stem not in HEAD_STEMS:
        return None
    term = as_written(parsed, text, first, end)
    kind = "credential" if CREDENTIAL_CONTEXT.search(term) else phrase_kind(term.split())
    return first, end, Keyword(term=term, kind=kind, source="phrase")


def as_written(parsed: Parsed, text: str, start: int, end: int) -> str:
    """Tokens ``start:end`` as the job writes them ("x-ray films", "non-technical audiences"), on one line;
    lower-cased but for codes and names ("GAAP", "Great Plains Dynamics")."""
    tokens = parsed.tokens
    pieces: list[str] = []
    for index in range(start, end):
        token = tokens[index]
        if index > start:
            gap = text[tokens[index - 1].end : token.start]
            # "x-ray", "A/B", "R&D" keep their joint; any other mark between two words is a space.
            pieces.append(gap if gap in ("", "-", "/", "&") else " ")
        word = parsed.word_at(index)
        keep = looks_like_code(token) or (word is not None and _is_name(token, word))
        pieces.append(token.text if keep else token.text.lower())
    return "".join(pieces)


def _is_name(token: Token, word: Any) -> bool:
    """A code, or a capitalised proper noun that does not open its sentence or line and is no everyday word
    written with a capital ("Looker", "Samsara"; not "the City" or "License is required")."""
    if looks_like_code(token):
        return True
    return (
        word.pos_ == "PROPN"
        and token.text[:1].isupper()
        and token.text.lower() not in common_words()
        and not word.is_sent_start
        and not _opens_line(word)
    )


def _uncommon_noun(piece: list[Any]) -> bool:
    words = [word for word in piece if word.is_alpha]
    if len(words) != 1 or words[0].pos_ != "NOUN":
        return False
    return words[0].text.islower() and words[0].text not in common_words()


def _single_noun(token: Token) -> bool:
    word = token.text
    return word.isalpha() and word.islower() and len(word) > 3


def _trimmed(piece: list[Any]) -> list[Any]:
    """The piece without what qualifies it: determiners, pronouns, numbers, quantifiers and generic modifiers
    in front ("all", "the monthly", "strong"), a verb the tagger took into the phrase ("- Reconcile
    inter-company accounts", "follows safety standards"), a bullet, and what a possessive belongs to."""
    words = [word for word in piece if not word.is_punct or word.text in ("&", "+", "#")]
    while words and _qualifies(words[0], alone=len(words) == 1):
        words = words[1:]
    for position in range(len(words) - 1, -1, -1):
        if words[position].tag_ == "POS":
            words = words[position + 1 :]
            break
    return words


def _qualifies(word: Any, *, alone: bool) -> bool:
    lower = word.lower_
    if word.tag_ in _PRONOUN_TAGS or word.pos_ in ("DET", "NUM", "PRON", "PART", "ADP", "CCONJ", "PUNCT", "SYM"):
        return True
    if lower in _QUALIFIERS or lower in STOPWORDS or lower in GENERIC_WORDS or lower.endswith("ly"):
        return True
    if _BULLET_MARK.fullmatch(word.text) or word.ent_type_ in _NOT_REQUIREMENTS:
        return True
    if lower in ACTION_VERBS or only_verb(lower) or (word.pos_ == "VERB" and word.tag_ in ("VB", "VBP", "VBZ")):
        return True
    # A word that may be a verb, opening a line or following "to", "and" or "or", opens a duty: "- Review
    # grading permits", "Train pickers", "and process change orders".
    if not alone and may_be_verb(lower) and (_opens_line(word) or _after(word, ("to", "and", "or"))):
        return True
    return False


def _after(word: Any, previous: tuple[str, ...]) -> bool:
    return word.i > 0 and word.doc[word.i - 1].lower_ in previous


def _opens_line(word: Any) -> bool:
    """Whether only a bullet and spaces stand between a word and the start of its line."""
    index = word.i - 1
    while index >= 0:
        before = word.doc[index]
        if "\n" in before.text_with_ws:
            return True
        if not (before.is_space or _BULLET_MARK.fullmatch(before.text)):
            return False
        index -= 1
    return True


def _is_empty(token: Token) -> bool:
    word = token.text.lower()
    return word in GENERIC_WORDS or token.stem in GENERIC_STEMS or word in _EMPTY_HEADS or word in STOPWORDS
