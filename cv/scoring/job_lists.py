"""Keywords a job names in lists, read by their structure: the items after a cue ("experience with",
"knowledge of", "degree in", "such as"), of a bullet that is only a list, or after a colon inside a line, and
single nouns of lists of three or more.
"""

from __future__ import annotations

import re
from bisect import bisect_left

from cv.scoring.job_context import is_heading, shouting_lines
from cv.scoring.keywords import Keyword, phrase_kind
from cv.scoring.parse import common_words
from cv.scoring.words import (
    ACTION_VERBS,
    GENERIC_STEMS,
    GENERIC_WORDS,
    HEAD_STEMS,
    ROLE_WORDS,
    SKILL_HEADS,
    STOPWORDS,
    VERB_STEMS,
    Mark,
    Marks,
    Token,
    is_content,
    looks_like_code,
)

# Words that open a requirement: what follows is the thing asked for ("experience with HEC-RAS and GIS").
_CUE = re.compile(
    r"\b(?:experience (?:with|in|of|using)|experienced (?:with|in)|knowledge (?:of|in)|knowledgeable (?:of|about|in)|"
    r"proficiency (?:in|with)|proficient (?:in|with)|familiarity with|familiar with|skilled in|skills in|"
    r"expertise in|expert in|understanding of|competence in|competent in|trained in|training in|"
    r"background in|qualified in|certified in|fluency in|fluent in|such as|including|e\.g\.|"
    r"(?:degree|diploma|qualification|certificate|apprenticeship|major|bachelor'?s|master'?s|associate'?s) in|"
    r"years in|years of experience (?:in|with))\s+",
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


# What opens a list: a cue names what follows; a bullet's items must all be noun phrases; after a colon in a
# line ("Strong SQL: joins, window functions and CTEs") two noun phrases at least make a list.
_AFTER_CUE, _BULLET_LIST, _AFTER_COLON = "cue", "bullet", "colon"

# A colon with words after it on its line.
_COLON_LIST = re.compile(r":[ \t]+(?=\S)")


def cued_keywords(tokens: list[Token], text: str, marks: Marks) -> list[tuple[int, int, Keyword]]:
    """Items named after a cue ("knowledge of A, B and C"), a bullet that is only a list ("- HEC-RAS, GIS
    and AutoCAD") or a colon inside a line ("statistics: hypothesis testing and regression"): each item is a
    noun phrase of up to four words, split at commas, "and", "or" and "/", kept whole. A list ends at a full
    stop, a semicolon, a colon, a bracket or a line's end, and at an item that reads as prose."""
    token_starts = [t.start for t in tokens]
    starts = {bisect_left(token_starts, match.end()): _AFTER_CUE for match in _CUE.finditer(text)}
    offset = 0
    for line in text.split("\n"):
        bullet = _BULLET.match(line)
        if bullet:
            starts.setdefault(bisect_left(token_starts, offset + bullet.end()), _BULLET_LIST)
        offset += len(line) + 1
    for match in _COLON_LIST.finditer(text):
        starts.setdefault(bisect_left(token_starts, match.end()), _AFTER_COLON)
    kept: list[tuple[int, int, Keyword]] = []
    for first in sorted(starts):
        if first < len(tokens):
            kept.extend(_cued_items(tokens, text, marks, first, opener=starts[first]))
    return kept


# After the first item, one that opens with one of these goes on with the sentence: "analytics, with business
# impact you can show".
_PROSE_OPENERS = frozenset("with for to in on by from at as that which who where when while so because".split())


def _cued_items(
    tokens: list[Token], text: str, marks: Marks, first: int, *, opener: str
) -> list[tuple[int, int, Keyword]]:
    """The items of the list that starts at token ``first``. After a bullet every item must be a noun phrase
    and nothing else, or none is kept: "- Review grading and stormwater plans" is a duty."""
    whole_list = opener == _BULLET_LIST
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
    for number, item in enumerate(items):
        if number and tokens[item[0]].plain in _PROSE_OPENERS:
            break
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
    # "Location: Remote" is a field of the advert, not a list.
    if opener == _AFTER_COLON and len(phrases) < 2:
        return []
    kept = []
    for start, end in phrases:
        if not marks.free(start, end):
            continue
        window = tokens[start:end]
        # Names and codes keep their case ("AP style", "Civil 3D", "Civil Engineering"); a capital that only
        # opens the item is dropped ("Good knowledge of Project planning").
        named = len(window) > 1 and all(t.text[:1].isupper() for t in window)
        words = [
            t.text if named or looks_like_code(t) or (k and t.text[:1].isupper()) else t.text.lower()
            for k, t in enumerate(window)
        ]
        # "clean, readable queries", "the basics": an everyday word alone names nothing.
        if len(window) == 1 and window[0].text.islower() and window[0].text in common_words():
            continue
        if len(window) == 1 and window[0].text[:1].isupper() and not looks_like_code(window[0]):
            kind = "tool"
        else:
            kind = phrase_kind(words)
        marks.set(start, end, Mark.TAKEN)
        kept.append((start, end, Keyword(term=" ".join(words), kind=kind, source="phrase")))
    return kept


# A list of single nouns this long is a list of terms ("photography, video and audio"); two nouns joined by
# "and" are as often a phrase of prose.
_MIN_LIST_ITEMS = 3


def listed_nouns(tokens: list[Token], text: str, marks: Marks) -> list[tuple[int, int, Keyword]]:
    """Single nouns that no other source read and that stand as items of a list of three or more ("grading,
    specifications and estimates"). Headings are not read; a list followed by its object is a list of verbs
    ("Train, schedule and coach the team"), and a word with a generic object is a verb ("reorder priorities")."""
    skipped_lines = {number for number, line in enumerate(text.split("\n")) if is_heading(line)}
    skipped_lines |= shouting_lines(text)
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
            or not is_content(token)
            or len(word) <= 3
            or word.endswith(("ed", "ly"))
            or word.lower() in ROLE_WORDS
            or (word[:1].isupper() and not _opens_sentence(tokens, text, start))
        ):
            continue
        marks.set(start, end, Mark.TAKEN)
        kept.append((start, end, Keyword(term=word.lower(), kind=phrase_kind([word]), source="phrase")))
    return kept


def _whole_item(tokens: list[Token], end: int) -> bool:
    """Whether a run ends its list item ("attention to detail" goes on after "attention")."""
    if end >= len(tokens):
        return True
    following = tokens[end]
    return following.clause != tokens[end - 1].clause or following.plain in ("and", "or", "/")


def _opens_sentence(tokens: list[Token], text: str, index: int) -> bool:
    if index == 0 or tokens[index - 1].line != tokens[index].line:
        return True
    return bool(re.search(r"[.!?:;]\s*$", text[tokens[index - 1].end : tokens[index].start]))


_VERB_OPENERS = frozenset("to will must can should shall may might would could".split())

_LIST_JOINT = re.compile(r"^\s*(?:,|/|&|,?\s*and|,?\s*or)\s*$")

_OBJECT_WORDS = frozenset("you them it us everyone everything yourself themselves".split())


def _list_groups(tokens: list[Token], text: str, runs: list[tuple[int, int]]) -> list[int | None]:
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


def _noun_phrase(tokens: list[Token], item: list[int]) -> tuple[int, int] | None:
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
    if head.text.lower().endswith("ing") and not looks_like_code(head) and (size > 1 or head.stem not in HEAD_STEMS):
        return None
    if size == 1 and not (looks_like_code(last) or (is_content(last) and len(last.text) > 3)):
        return None
    return item[k], item[end - 1] + 1


def _trailing_container(token: Token, size: int) -> bool:
    return size > 1 and token.plain in _TRAILING_CONTAINERS


def _is_generic(token: Token) -> bool:
    return token.text.lower() in GENERIC_WORDS or token.stem in GENERIC_STEMS


def _phrase_word(token: Token) -> bool:
    word = token.text.lower()
    if looks_like_code(token):
        return True
    return (
        any(ch.isalpha() for ch in word)
        and word not in STOPWORDS
        and word not in ACTION_VERBS
        and not (word.endswith("ed") and token.stem in VERB_STEMS)
        and token.text not in ("&", "/")
    )


def _is_modifier(token: Token) -> bool:
    """Words that qualify a requirement without being part of it ("strong", "working", "relevant")."""
    word = token.text.lower()
    return (word in GENERIC_WORDS and word not in SKILL_HEADS) or word.endswith("ly")


def _strip_leading(tokens: list[Token], item: list[int]) -> list[int]:
    while item and (tokens[item[0]].plain in STOPWORDS or tokens[item[0]].text.lower() in ACTION_VERBS):
        item = item[1:]
    return item


def _ends_list(gap: str) -> bool:
    return bool(re.search(r"[;:()!?]|\.(?:\s|$)|\s-\s", gap))
