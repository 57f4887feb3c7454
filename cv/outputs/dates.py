"""Dates as CVs write them (2021-03, 03/2021, March 2021, "mars 2021", 2021) and date ranges ("2019 - present")
read into the partial ISO dates JSON Resume uses (``2021-03``, ``2021``).
"""

from __future__ import annotations

import re

_MONTHS = {
    name: index
    for index, names in enumerate(
        (
            ("jan", "january", "janvier", "januar"),
            ("feb", "february", "fév", "fev", "februar"),
            ("mar", "march", "mars", "märz", "maerz"),
            ("apr", "april", "avr", "avril"),
            ("may", "mai"),
            ("jun", "june", "juin", "juni"),
            ("jul", "july", "juil", "juillet", "juli"),
            ("aug", "august", "août", "aout"),
            ("sep", "sept", "september", "septembre"),
            ("oct", "october", "octobre", "okt", "oktober"),
            ("nov", "november", "novembre"),
            ("dec", "december", "décembre", "dezember", "dez"),
        ),
        start=1,
    )
    for name in names
}

_MONTH_NAME = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))

# One date as CVs write it: 2021-03, 03/2021, 3.2021, March 2021, Mar. 2021, 2021.
_DATE = (
    rf"(?:(?P<{{p}}y1>(?:19|20)\d{{{{2}}}})-(?P<{{p}}m1>0[1-9]|1[0-2])(?:-(?P<{{p}}d1>[0-3]\d))?"
    rf"|(?P<{{p}}m2>0?[1-9]|1[0-2])[/.](?P<{{p}}y2>(?:19|20)\d{{{{2}}}})"
    rf"|(?P<{{p}}mn>{_MONTH_NAME})\.?\s+(?P<{{p}}y3>(?:19|20)\d{{{{2}}}})"
    rf"|(?P<{{p}}y4>(?:19|20)\d{{{{2}}}}))"
)

_OPEN_END = r"present|current|now|today|ongoing|aujourd'hui|heute|actuel"

_RANGE = re.compile(
    rf"(?<![\w/.-]){_DATE.format(p='s')}(?:\s*(?:-|\u2013|—|to|until|bis|à|au)\s*(?:{_DATE.format(p='e')}|(?P<open>{_OPEN_END})))?(?![\w/])",
    re.IGNORECASE,
)


def _iso(match: re.Match[str], prefix: str) -> str | None:
    group = match.groupdict()
    if group.get(f"{prefix}y1"):
        day = group.get(f"{prefix}d1")
        return f"{group[f'{prefix}y1']}-{group[f'{prefix}m1']}" + (f"-{day}" if day and 1 <= int(day) <= 31 else "")
    if group.get(f"{prefix}y2"):
        return f"{group[f'{prefix}y2']}-{int(group[f'{prefix}m2']):02d}"
    if group.get(f"{prefix}y3"):
        month = _MONTHS.get(group[f"{prefix}mn"].casefold().rstrip("."))
        return f"{group[f'{prefix}y3']}-{month:02d}" if month else group[f"{prefix}y3"]
    return group.get(f"{prefix}y4")


def date_range(text: str) -> tuple[str | None, str | None, str]:
    """(startDate, endDate, text without the range) for the first date or date range in ``text``.

    An open range ("2021 - present") has no end date; a single date is the start.
    """
    match = _RANGE.search(text)
    if match is None:
        return None, None, text
    start = _iso(match, "s")
    end = None if match.group("open") else _iso(match, "e")
    rest = (text[: match.start()] + text[match.end() :]).strip()
    rest = re.sub(r"^[\s,;:|·—\u2013()-]+|[\s,;:|·—\u2013(-]+$", "", rest)
    rest = re.sub(r"\(\s*\)", "", rest).strip()
    return start, end, rest
