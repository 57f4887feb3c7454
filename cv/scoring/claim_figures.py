"""The dates and numbers an improved CV states that the person's text does not (cv.scoring.claims): a date
range, a month and year or a year alone; a figure however written ("5k", "5,000", "five thousand", "%").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cv.scoring.verdict import Claim

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
    "nov": 11, "dec": 12,
}  # fmt: skip

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)

YEAR = r"(?:19[5-9]\d|20[0-4]\d)"

_OPEN_END = r"(?:present|current|now|today|date|ongoing)"

_RANGE = re.compile(
    rf"(?<![\w.])(?:(?P<m1>{_MONTH})\s+)?(?P<y1>{YEAR})\s*(?:-|to|until|till)\s*"
    rf"(?:(?:(?P<m2>{_MONTH})\s+)?(?P<y2>{YEAR})(?![\d])|(?P<yy>\d{{2}})(?![\w])|(?P<open>{_OPEN_END})\b)",
    re.I,
)

_SINCE = re.compile(rf"\bsince\s+(?:(?P<m1>{_MONTH})\s+)?(?P<y1>{YEAR})\b", re.I)

_MONTH_YEAR = re.compile(rf"(?<![\w])(?P<m>{_MONTH})\s+(?P<y>{YEAR})\b", re.I)

_YEAR_ALONE = re.compile(rf"(?<![\w.,/$£€]){YEAR}(?![\w%/]|[.,]\d)")

_NUMBER = re.compile(
    r"(?<![\w.,/#:+-])(?P<cur>[$£€]\s?)?(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:[.,](?P<dec>\d+))?(?![\d/])"
    r"(?:\s?(?P<mult>k|m|mn|bn|thousand|million|billion)\b)?(?:\s?(?P<pct>%|percent\b|per\s?cent\b))?",
    re.I,
)

_PERCENT_AFTER = re.compile(r"\s?(?:%|percent\b|per\s?cent\b)", re.I)

_MULTIPLIERS = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}

_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip

_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}

_NUMBER_WORD = re.compile(
    rf"\b(?P<tens>{'|'.join(_TENS)})(?:[\s-](?P<unit>{'|'.join(k for k in _UNITS if _UNITS[k] < 10)}))?\b"
    rf"|\b(?P<small>{'|'.join(_UNITS)})\b",
    re.I,
)

# "one" is an article as often as a number ("one of the"); it supports a 1 but is never a claim itself.
_NOT_A_NUMBER_CLAIM = {1.0}


def _year(two_digits: str, start: int) -> int:
    century = start - start % 100
    year = century + int(two_digits)
    return year if year >= start else year + 100


@dataclass
class _Dates:
    ranges: set[tuple[int, str]]
    years: set[int]
    month_years: set[tuple[int, int]]
    range_spans: list[tuple[int, int, tuple[int, str]]]
    year_spans: list[tuple[int, int, int]]
    month_spans: list[tuple[int, int, tuple[int, int]]]


def _month(name: str | None) -> int | None:
    return _MONTHS.get(name.lower()[:3]) if name else None


def read_dates(text: str) -> _Dates:
    ranges: set[tuple[int, str]] = set()
    range_spans = []
    for pattern in (_RANGE, _SINCE):
        for match in pattern.finditer(text):
            start = int(match.group("y1"))
            groups = match.groupdict()
            if groups.get("y2"):
                end = groups["y2"]
            elif groups.get("yy"):
                end = str(_year(groups["yy"], start))
            else:
                end = "present"
            ranges.add((start, end))
            range_spans.append((match.start(), match.end(), (start, end)))
    month_spans = [
        (m.start(), m.end(), (_month(m.group("m")) or 0, int(m.group("y")))) for m in _MONTH_YEAR.finditer(text)
    ]
    year_spans = [(m.start(), m.end(), int(m.group(0))) for m in _YEAR_ALONE.finditer(text)]
    years = {year for _, _, year in year_spans}
    years |= {start for start, _ in ranges} | {int(end) for _, end in ranges if end.isdigit()}
    return _Dates(
        ranges=ranges,
        years=years,
        month_years={value for _, _, value in month_spans},
        range_spans=range_spans,
        year_spans=year_spans,
        month_spans=month_spans,
    )


def dated_claims(improved: str, support: _Dates) -> tuple[list[Claim], list[tuple[int, int]]]:
    found = read_dates(improved)
    claims: list[Claim] = []
    covered: list[tuple[int, int]] = []
    for start, end, value in found.range_spans:
        covered.append((start, end))
        if value not in support.ranges:
            claims.append(Claim("date", improved[start:end].strip()))
    # Which characters lie in a flagged range, and in any range or month: one pass over the spans, where asking
    # every span for every date took seconds on a CV full of dates.
    flagged = _mask(len(improved), ((s, e) for s, e, v in found.range_spans if v not in support.ranges))
    dated = _mask(len(improved), ((s, e) for s, e, _ in found.range_spans + found.month_spans))
    for start, end, month_year in found.month_spans:
        if month_year not in support.month_years and not flagged[start]:
            claims.append(Claim("date", improved[start:end].strip()))
    for start, end, year in found.year_spans:
        covered.append((start, end))
        if dated[start]:
            continue
        if year not in support.years:
            claims.append(Claim("date", str(year)))
    return claims, covered


def _mask(length: int, spans: Iterable[tuple[int, int]]) -> bytearray:
    """One byte per character of a text, 1 inside any of ``spans``."""
    inside = bytearray(length)
    for start, end in spans:
        inside[start:end] = b"\x01" * (end - start)
    return inside


def _number_value(match: re.Match[str]) -> tuple[float, str]:
    whole = match.group("int").replace(",", "")
    value = float(f"{whole}.{match.group('dec')}") if match.group("dec") else float(whole)
    if match.group("mult"):
        value *= _MULTIPLIERS[match.group("mult").lower()]
    kind = "percent" if match.group("pct") else "money" if match.group("cur") else "plain"
    return round(value, 6), kind


def _numbers(text: str) -> list[tuple[int, int, float, str]]:
    found = []
    for match in _NUMBER.finditer(text):
        value, kind = _number_value(match)
        found.append((match.start(), match.end(), value, kind))
    for match in _NUMBER_WORD.finditer(text):
        if match.group("small"):
            value = float(_UNITS[match.group("small").lower()])
        else:
            unit = match.group("unit")
            value = float(_TENS[match.group("tens").lower()] + (_UNITS[unit.lower()] if unit else 0))
        end = match.end()
        pct = _PERCENT_AFTER.match(text, end)
        found.append((match.start(), pct.end() if pct else end, value, "percent" if pct else "plain"))
    return found


def number_claims(improved: str, support: str) -> list[Claim]:
    supported: dict[float, set[str]] = {}
    for _, _, value, kind in _numbers(support):
        supported.setdefault(value, set()).add(kind)
    claims = []
    for start, end, value, kind in _numbers(improved):
        kinds = supported.get(value, set())
        # A bare number is backed by the same value in any form; a percentage or an amount needs the same kind
        # (40% of coverage is not 40 minutes).
        ok = bool(kinds) if kind == "plain" else kind in kinds or (kind == "money" and "plain" in kinds)
        if not ok and value not in _NOT_A_NUMBER_CLAIM:
            claims.append(Claim("number", improved[start:end].strip()))
    return claims
