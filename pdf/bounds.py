"""The size bounds a text must keep to be rendered (DESIGN.md, "Bounds"), checked before WeasyPrint runs.

WeasyPrint's line breaking is quadratic in the length of an unbreakable word, and its layout grows with the
text, table rows and columns, so a text past the bounds of ``cvimprover/settings.py`` (``CV_MAX_*``) is
refused when a render is asked for (400) and again by the worker, in case one was queued before the bounds
existed. The check is linear in the text and parses the Markdown only when it holds a table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

from core.exceptions import DomainError
from cv.cv_document import parse

# The delimiter row every Markdown table has under its header ("| --- | :-: |"): without one, no table.
_TABLE_DELIMITER = re.compile(r"^ {0,3}(?=[^\n]*\|)\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$", re.M)


@dataclass(frozen=True)
class Bound:
    name: str  # the machine name a 400 carries in ``bound``
    setting: str
    what: str  # how the message names it


_BOUNDS = {
    bound.name: bound
    for bound in (
        Bound("text_chars", "CV_MAX_TEXT_CHARS", "characters in all"),
        Bound("word_chars", "CV_MAX_WORD_CHARS", "characters in one word"),
        Bound("line_chars", "CV_MAX_LINE_CHARS", "characters in one line"),
        Bound("table_rows", "CV_MAX_TABLE_ROWS", "rows in one table"),
        Bound("table_columns", "CV_MAX_TABLE_COLUMNS", "columns in one table"),
    )
}


class ContentTooLarge(DomainError):
    default_code = "content_too_large"

    @classmethod
    def past(cls, bound: Bound, *, found: int, kind: str) -> ContentTooLarge:
        limit = getattr(settings, bound.setting)
        return cls(
            f"This {kind} is too large to render: it has {found:,} {bound.what}, and at most {limit:,} are "
            "accepted. Shorten it and ask again.",
            bound=bound.name,
            limit=limit,
            found=found,
        )


def _measures(text: str) -> dict[str, int]:
    """The largest value of each bound in ``text``, cheapest first (a later one is skipped once one fails)."""
    found = {"text_chars": len(text)}
    if found["text_chars"] > settings.CV_MAX_TEXT_CHARS:
        return found
    found["word_chars"] = max(map(len, text.split()), default=0)
    found["line_chars"] = max(map(len, text.splitlines()), default=0)
    if _TABLE_DELIMITER.search(text):
        tables = [block.rows for block in parse(text) if block.kind == "table"]
        found["table_rows"] = max(map(len, tables), default=0)
        found["table_columns"] = max((len(row) for rows in tables for row in rows), default=0)
    return found


def check_renderable(text: str, *, kind: str = "CV") -> None:
    """Raise ContentTooLarge (400, naming the bound) when ``text`` (Markdown) is past a bound of a CV's text.

    ``kind`` names the text in the message ("CV", "cover letter").
    """
    for name, value in _measures(text).items():
        bound = _BOUNDS[name]
        if value > getattr(settings, bound.setting):
            raise ContentTooLarge.past(bound, found=value, kind=kind)
