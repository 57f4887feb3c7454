"""The bounds on a CV's text, checked in one place wherever a CV text enters: the text read from an uploaded
PDF or Word CV, the model's answer (an improved CV, a cover letter).

Every operation on a CV (claims check, match report, diff, exports, render) is linear or bounded in what these
bounds allow, so a text past one of them is refused where it enters, never half-processed later. The bounds
are ``CV_MAX_TEXT_CHARS``, ``CV_MAX_LINE_CHARS``, ``CV_MAX_WORD_CHARS``, ``CV_MAX_TABLE_ROWS`` and
``CV_MAX_TABLE_COLUMNS`` in cvimprover/settings.py, read at each call. The check is linear in the text's size.
"""

from __future__ import annotations

import re

from django.conf import settings

from core.exceptions import DomainError

# A "word" is what a reader or a line breaker cannot split: a run without spaces, and without a table's cell
# separators (a Markdown table row written without spaces is many cells, not one word) or the "](" between a
# link's text and its target (the target is never laid out: "[https://...](https://...)" is two words).
_WORD_SEPARATORS = re.compile(r"[\s|]+|\]\(")
# A Markdown table's delimiter row (`| --- | :-: |`, or `---` under a one-cell header): only pipes, dashes,
# colons and spaces, with a dash.
_DELIMITER_CHARS = frozenset("|-: \t")
# A delimiter row behind a container's prefix: quote markers, or the indentation of a list item's content.
_NESTED_DELIMITER = re.compile(r"^(?:\s*>)+\s*\|?\s*:?-+:?\s*\||^ {2,}\|?\s*:?-+:?\s*\|")
# Lines that start another block end a table's body as markdown-it ends it (heading, quote, list, fence, rule,
# indented code).
_ENDS_TABLE = re.compile(r"\s{0,3}(?:#{1,6}(?:\s|$)|>|[-*+]\s|\d{1,9}[.)]\s|```|~~~|(?:[-*_][ \t]*){3,}$)|\s{4}")


class CVTextOutOfBounds(DomainError):
    """A CV text is past one of the bounds: a 400 whose ``code`` names the bound and whose message names the
    limit. ``limit`` and ``actual`` are in the answer too."""

    default_code = "cv_out_of_bounds"
    default_detail = "This CV is past the size bounds of a CV."

    def __init__(self, detail: str, *, code: str, limit: int, actual: int) -> None:
        super().__init__(detail, code=code, limit=limit, actual=actual)
        self.limit = limit
        self.actual = actual


def text_too_long(
    *, length: int, subject: str = "the CV", at_least: bool = False, limit: int | None = None
) -> CVTextOutOfBounds:
    """The text-length refusal. ``at_least``: the text was cut where it was read, so ``length`` is a floor.
    ``limit``: a text's own length bound, below ``CV_MAX_TEXT_CHARS`` (a cover letter's)."""
    limit = limit or settings.CV_MAX_TEXT_CHARS
    size = f"more than {length:,}" if at_least else f"{length:,}"
    return CVTextOutOfBounds(
        f"{_capitalised(subject)} is {size} characters long; the limit is {limit:,}.",
        code="cv_text_too_long",
        limit=limit,
        actual=length,
    )


def check_cv_text(text: str, *, subject: str = "the CV", max_chars: int | None = None) -> None:
    """Refuse ``text`` (CVTextOutOfBounds) if it is past a bound; ``subject`` names it in the message
    ("the CV", "the AI's answer"), ``max_chars`` is its own length bound if it has one. The most specific
    bound is named first: a one-page CV holding one 94,000-character word is told about the word, not
    about its length."""
    text = text or ""
    _check_longest(
        max(map(len, _WORD_SEPARATORS.split(text)), default=0),
        limit=settings.CV_MAX_WORD_CHARS,
        code="cv_word_too_long",
        what=f"A word in {subject}",
    )
    lines = text.splitlines()
    _check_longest(
        max(map(len, lines), default=0),
        limit=settings.CV_MAX_LINE_CHARS,
        code="cv_line_too_long",
        what=f"A line in {subject}",
    )
    for rows, columns in markdown_tables(lines):
        if rows > settings.CV_MAX_TABLE_ROWS:
            limit = settings.CV_MAX_TABLE_ROWS
            raise CVTextOutOfBounds(
                f"A table in {subject} has {rows:,} rows; the limit is {limit:,}.",
                code="cv_table_too_many_rows",
                limit=limit,
                actual=rows,
            )
        if columns > settings.CV_MAX_TABLE_COLUMNS:
            limit = settings.CV_MAX_TABLE_COLUMNS
            raise CVTextOutOfBounds(
                f"A table in {subject} has {columns:,} columns; the limit is {limit:,}.",
                code="cv_table_too_many_columns",
                limit=limit,
                actual=columns,
            )
    limit = min(max_chars or settings.CV_MAX_TEXT_CHARS, settings.CV_MAX_TEXT_CHARS)
    if len(text) > limit:
        raise text_too_long(length=len(text), subject=subject, limit=limit)


def markdown_tables(lines: list[str]) -> list[tuple[int, int]]:
    """(rows, columns) of each Markdown table in ``lines``, the header row counted, as markdown-it reads them:
    a header row with pipes and as many cells as the delimiter row under it, then body rows up to a blank line
    or another block. Every row has the delimiter's columns (markdown-it pads or cuts them). One pass.

    A table inside a quote or a list item (its delimiter row behind `>` or indented) is counted by the parser
    the exports and the render use, so no container hides a table from the bounds."""
    if any(_NESTED_DELIMITER.match(line) for line in lines):
        from cv.text.cv_document import parse

        tables_read = [block.rows for block in parse("\n".join(lines)) if block.kind == "table"]
        return [(len(rows), max(map(len, rows), default=0)) for rows in tables_read]
    tables: list[tuple[int, int]] = []
    index = 1
    while index < len(lines):
        header, delimiter = lines[index - 1], lines[index]
        columns = _cell_count(delimiter) if _is_delimiter_row(delimiter) else 0
        if not columns or "|" not in header or _indented_code(header) or _cell_count(header) != columns:
            index += 1
            continue
        rows = 1
        index += 1
        while index < len(lines) and lines[index].strip() and not _ENDS_TABLE.match(lines[index]):
            rows += 1
            index += 1
        tables.append((rows, columns))
    return tables


def _is_delimiter_row(line: str) -> bool:
    stripped = line.strip()
    return "-" in stripped and set(stripped) <= _DELIMITER_CHARS and not _indented_code(line)


def _indented_code(line: str) -> bool:
    return len(line) - len(line.lstrip(" ")) >= 4


def _cell_count(line: str) -> int:
    stripped = line.strip()
    # An escaped pipe is text inside a cell, not a separator.
    separators = stripped.count("|") - stripped.count("\\|")
    return max(separators + 1 - stripped.startswith("|") - (stripped.endswith("|") and len(stripped) > 1), 0)


def _check_longest(longest: int, *, limit: int, code: str, what: str) -> None:
    if longest > limit:
        raise CVTextOutOfBounds(
            f"{what} is {longest:,} characters long; the limit is {limit:,}.", code=code, limit=limit, actual=longest
        )


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
