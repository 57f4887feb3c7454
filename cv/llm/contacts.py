"""Contact details found in a text and the person's own: email addresses, phone numbers and URLs (written out or
as the target of a Markdown link), each normalised so that a faithful rewrite compares equal, and
``OwnContacts``, the ones the person gave. The rules are the output guard's (cv.llm.output_guard).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from cv.text import patterns

_EMAIL = patterns.EMAIL

_PHONE = patterns.PHONE_ON_ONE_LINE

# Hosts in running text are recognised by their ending. A well-known ending makes a lower-case host an address;
# any other ending (".store", ".company") needs a path or a contact label on its line, and never one that
# names a file (".js", ".py"), so "next.js/app" is a name, not an address.
_TLDS = frozenset(
    (
        "com|org|net|io|dev|co|uk|de|fr|es|it|nl|be|ch|at|se|no|dk|fi|ie|pl|pt|cz|eu|us|ca|au|nz|in|jp|cn|ru|br|me|"
        "app|ai|info|biz|xyz|tech|site|online|page|link|example|edu|gov|ly|gg|sh|to|tv|cc"
    ).split("|")
)

_FILE_ENDINGS = frozenset(
    (
        "js|mjs|cjs|ts|jsx|tsx|py|rb|md|txt|json|yml|yaml|xml|html|htm|css|scss|php|java|kt|cs|cpp|hpp|rs|go|"
        "vue|svelte|lock|cfg|ini|toml|exe|dll|so|zip|gz|tar|pdf|doc|docx|xls|xlsx|png|jpg|jpeg|gif|svg|sql|csv|"
        "log|bat|ps1|tf|jar|war|bin|img|iso|apk|ipa|swift|dart|lua|pl|pm|r|scala|clj|ex|exs|erl|hs|ml|vb"
    ).split("|")
)

_URL_CHARS = r"[^\s<>()\[\]\"'`|·•]"

_SCHEME_URL = re.compile(rf"(?<![\w@])(?:https?://|www\.){_URL_CHARS}+", re.I)

# A host with any ending, in any case; _host_is_address decides what of it is an address.
_ANY_HOST = re.compile(
    rf"(?<![\w.@/:-])(?P<host>(?:[a-z0-9-]{{1,63}}\.)+(?P<tld>[a-z]{{2,63}}))(?![\w-])(?P<path>/{_URL_CHARS}*)?", re.I
)

_TRAILING = ".,;:!?*_~"

# A word on the line that says it gives contact details ("Contact:", "Apply at", "Web:", "Phone").
CONTACT_LABEL = re.compile(
    r"\b(?:(?:contact|reach|write|e-?mail|mail|web|website|site|url|homepage|portfolio|blog|apply|applications?|"
    r"linkedin|github|phone|telephone|tel|mobile|cell|call|fax|whatsapp)(?:\s+(?:me|us|them))?\s*(?::|at\b|via\b|on\b)"
    r"|visit\b)",
    re.I,
)

PHONE_WORD = re.compile(r"\b(?:phone|telephone|tel|mobile)\b", re.I)

_PHONE_LABEL = re.compile(
    r"\b(?:contact|reach|phone|telephone|tel|mobile|cell|call|ring|dial|sms|fax|whatsapp)\b", re.I
)

# Digits grouped as a North American number is ("415-555-0199", "(415) 555 0199").
_GROUPED_AS_PHONE = re.compile(r"\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4}")

# Words just before a number that make it a reference, not a phone number ("ISBN 978-...", "Grant no. 2019-...").
_REFERENCE_LABEL = re.compile(
    r"\b(?:isbn|issn|id|no|nr|num|number|ref|reference|grant|orcid|doi|patent|invoice|order|account|iban|vat|"
    r"serial|ticket|case|licen[cs]e|registration)\b\.?\s*[:#]?\s*$",
    re.I,
)

# A figure with thousands grouped by dots, commas or spaces ("1.200.000", "45,000", "1 250 000 000").
_AMOUNT = re.compile(r"[1-9]\d{0,2}(?:([.,\s])\d{3})(?:\1\d{3})*(?:[.,]\d{1,2})?")

# A range between two figures: a hyphen with a space on either side, or an en or em dash.
_RANGE = re.compile(r"\s*-\s+|\s+-\s*|\s*[\u2013\u2014]\s*")

_YEAR = re.compile(r"(?:19|20)\d\d")

# Dots that IDNA reads as dots (after NFKC, which already makes the full-width one a "."): ideographic ones.
_DOTS = str.maketrans({"\u3002": ".", "\uff61": "."})


@dataclass(frozen=True)
class Address:
    """An email, phone number or URL as compared (``key``) and as written (``text``)."""

    kind: str
    key: str
    text: str


def _email_key(value: str) -> str:
    return value.strip().casefold()


def _phone_key(value: str) -> str:
    value = value.replace("(0)", "")
    digits = re.sub(r"\D", "", value)
    return digits[2:] if value.lstrip().startswith("00") else digits


def _url_key(value: str) -> str:
    value = value.strip().strip("<>").rstrip(_TRAILING)
    value = re.sub(r"^(?:https?:)?//", "", value, flags=re.I)
    value = re.sub(r"^www\.", "", value, flags=re.I)
    cut = min((i for i in (value.find(ch) for ch in "/?#") if i >= 0), default=len(value))
    host, rest = value[:cut].casefold().rstrip("."), value[cut:]
    return host + rest.rstrip("/")


def _host(key: str) -> str:
    return re.split(r"[/?#]", key, maxsplit=1)[0]


def _is_date_or_amount(value: str) -> bool:
    """Dates ("2019-01 - 2021-03", "01.2019 - 03.2021", "2014 - 2018 2019") and figures ("1.200.000 -
    1.500.000", "1 250 000 000") are not numbers to call."""
    groups = re.findall(r"\d+", value)
    if any(_YEAR.fullmatch(group) for group in groups) and all(
        _YEAR.fullmatch(group) or len(group) <= 2 for group in groups
    ):
        return True
    sides = [side.strip(" \t().") for side in _RANGE.split(value.strip())]
    return all(_AMOUNT.fullmatch(side) for side in sides if side)


def _is_phone(value: str, before: str = "", *, labelled: bool = True) -> bool:
    """Whether ``value`` is a phone number: 9 to 15 digits that start as a phone number does ("+", "00",
    "0", "("), are grouped as one ("415-555-0199") or stand on a line labelled as one (``labelled``), and read
    neither as a date or a figure nor as a reference (``before`` is the text just before it: "ISBN", "Grant
    no.", "job ID"). A number that is not a phone is the claims check's to judge, not the guard's."""
    digits = sum(ch.isdigit() for ch in value)
    if not 9 <= digits <= 15:
        return False
    value = value.strip()
    if value.startswith(("+", "00")):
        return True
    if not (value.startswith(("0", "(")) or labelled or _GROUPED_AS_PHONE.fullmatch(value)):
        return False
    if _is_date_or_amount(value):
        return False
    return not (_REFERENCE_LABEL.search(before[-30:]) and not PHONE_WORD.search(before[-30:]))


def same_phone(first: str, second: str) -> bool:
    first, second = first.lstrip("0"), second.lstrip("0")
    if first == second:
        return True
    short, long = sorted((first, second), key=len)
    # The same number with and without its country code ("+44 20 ..." and "020 ...").
    return len(short) >= 7 and long.endswith(short) and len(long) - len(short) <= 3


def address_of_target(target: str) -> Address | None:
    """The address a link points at, or None for a target that is no address (a relative link, another
    scheme): such a target is never the person's own."""
    target = target.strip().strip("<>")
    lowered = target.casefold()
    if lowered.startswith("mailto:"):
        email = target[len("mailto:") :].split("?", 1)[0]
        return Address("email", _email_key(email), email)
    if lowered.startswith("tel:"):
        phone = target[len("tel:") :]
        return Address("phone", _phone_key(phone), phone)
    if _EMAIL.fullmatch(target):
        return Address("email", _email_key(target), target)
    if _SCHEME_URL.fullmatch(target) or _ANY_HOST.fullmatch(unicodedata.normalize("NFKC", target)):
        return Address("url", _url_key(unicodedata.normalize("NFKC", target)), target)
    return None


def address_of_text(text: str) -> Address | None:
    """The address a link's visible text shows, if the text is one."""
    text = text.strip().strip("*_`").strip()
    if not text:
        return None
    if _EMAIL.fullmatch(text):
        return Address("email", _email_key(text), text)
    if _PHONE.fullmatch(text) and _is_phone(text):
        return Address("phone", _phone_key(text), text)
    normal = unicodedata.normalize("NFKC", text).translate(_DOTS)
    if _SCHEME_URL.fullmatch(normal) or _ANY_HOST.fullmatch(normal.rstrip("/")):
        return Address("url", _url_key(normal), text)
    return None


def _normalised(text: str) -> tuple[str, list[int] | None]:
    """``text`` as NFKC reads it (full-width "evil.com" is "evil.com"), and where each of its characters was in
    ``text`` (None when nothing changed)."""
    if text.isascii():
        return text, None
    parts: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text):
        normal = unicodedata.normalize("NFKC", char).translate(_DOTS)
        parts.append(normal)
        where.extend([index] * len(normal))
    normal_text = "".join(parts)
    if normal_text == text:
        return text, None
    where.append(len(text))
    return normal_text, where


def _names(*texts: str) -> frozenset[str]:
    """The dotted words of ``texts`` ("ASP.NET", "Socket.IO/Express"), casefolded, each part of a slashed
    one too: names the person or the job wrote are not addresses the model made up."""
    names: set[str] = set()
    for text in texts:
        for word in re.findall(r"[^\s<>()\[\]\"'`|·•,;]+", _normalised(text or "")[0]):
            word = word.strip(_TRAILING).casefold()
            if "." in word:
                names.add(word)
                names.update(part for part in word.split("/") if "." in part)
    return frozenset(names)


def _host_is_address(host: str, tld: str, path: str, *, labelled: bool, any_case: bool, names: frozenset[str]) -> bool:
    """Whether a host written in running text is an address. Lower case with a well-known ending
    ("evil.example"), any ending but a file's with a path or on a contact line ("evil.store/x", "Web:
    evil.company"); in capitals or mixed case ("EVIL.COM", "Evil.Com") only when that word is not a name the
    person or the job wrote ("ASP.NET", "Socket.IO"), or on a contact line, and with a path only after a
    lower-case ending ("GitHub.com/jane", not "ASP.NET/Blazor")."""
    ending = tld.casefold()
    if ending in _FILE_ENDINGS:
        return False
    known = ending in _TLDS
    if any_case:
        return known or bool(path) or labelled
    if host == host.lower():
        return known or bool(path) or labelled
    if path:
        return tld == tld.lower() or labelled
    return (known or labelled) and (labelled or host.casefold() not in names)


def _line_flags(text: str, pattern: re.Pattern[str]) -> tuple[list[int], list[bool]]:
    """Where each line of ``text`` starts, and whether ``pattern`` occurs on it."""
    starts = [0] + [match.end() for match in re.finditer("\n", text)]
    flags = []
    for start in starts:
        end = text.find("\n", start)
        flags.append(bool(pattern.search(text, start, len(text) if end < 0 else end)))
    return starts, flags


def contact_spans(
    text: str, *, any_case: bool = False, names: frozenset[str] = frozenset()
) -> list[tuple[int, int, Address]]:
    """Every email, URL and phone number written in ``text``, in order, none inside another. ``any_case``: the
    person's own text, read generously; ``names``: dotted words the person or the job wrote."""
    source = text
    text, where = _normalised(text)
    found: list[tuple[int, int, Address]] = []
    # Which characters an address already covers: each span is checked against its own characters only.
    taken = bytearray(len(text))
    starts, contact_lines = _line_flags(text, CONTACT_LABEL)
    _, phone_lines = _line_flags(text, _PHONE_LABEL)

    def line_of(position: int) -> int:
        return bisect.bisect_right(starts, position) - 1

    def add(start: int, end: int, kind: str, key: str) -> None:
        written = source[where[start] : where[end - 1] + 1] if where is not None else text[start:end]
        found.append((start, end, Address(kind, key, written)))
        taken[start:end] = b"\x01" * (end - start)

    for match in _EMAIL.finditer(text):
        add(match.start(), match.end(), "email", _email_key(match.group(0)))
    for match in _SCHEME_URL.finditer(text):
        value = match.group(0).rstrip(_TRAILING)
        start, end = match.start(), match.start() + len(value)
        if value and 1 not in taken[start:end]:
            add(start, end, "url", _url_key(value))
    for match in _ANY_HOST.finditer(text):
        value = match.group(0).rstrip(_TRAILING)
        start, end = match.start(), match.start() + len(value)
        path = value[len(match.group("host")) :]
        if (
            value
            and 1 not in taken[start:end]
            and _host_is_address(
                match.group("host"),
                match.group("tld"),
                path,
                labelled=contact_lines[line_of(start)],
                any_case=any_case,
                names=names,
            )
        ):
            add(start, end, "url", _url_key(value))
    for match in _PHONE.finditer(text):
        value = match.group(0)
        start = match.start()
        before = text[max(0, start - 30) : start]
        # The person's own text is read generously (a number there is theirs to keep); an output strictly.
        labelled = any_case or phone_lines[line_of(start)]
        if _is_phone(value, before, labelled=labelled) and 1 not in taken[start : match.end()]:
            add(start, match.end(), "phone", _phone_key(value))
    spans = sorted(found, key=lambda span: span[0])
    if where is None:
        return spans
    return [(where[start], where[end - 1] + 1, address) for start, end, address in spans]


def _phone_index(key: str) -> str:
    # Two keys of one number (with and without its country code) end in the same seven digits.
    return key.lstrip("0")[-7:]


@dataclass(frozen=True)
class OwnContacts:
    """The person's own contact details: what their CV's text and their own request state. ``mine``: the
    dotted words they wrote ("ASP.NET/Blazor"), never taken for an address; ``names``: those and the job's."""

    emails: dict[str, str] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    mine: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    _phones_by_ending: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    _urls_by_host: dict[str, dict[str, str]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, *texts: str, data: Iterable[str] = ()) -> OwnContacts:
        """The contact details in ``texts`` (the CV, the request); ``data`` (the job) only names words."""
        emails: dict[str, str] = {}
        phones: dict[str, str] = {}
        urls: dict[str, str] = {}
        for text in texts:
            for _, _, address in contact_spans(text or "", any_case=True):
                {"email": emails, "phone": phones, "url": urls}[address.kind].setdefault(address.key, address.text)
        by_ending: dict[str, list[str]] = {}
        for key in phones:
            by_ending.setdefault(_phone_index(key), []).append(key)
        by_host: dict[str, dict[str, str]] = {}
        for key, text in urls.items():
            by_host.setdefault(_host(key), {})[key] = text
        mine = _names(*texts)
        return cls(
            emails=emails,
            phones=phones,
            urls=urls,
            mine=mine,
            names=mine | _names(*data),
            _phones_by_ending=by_ending,
            _urls_by_host=by_host,
        )

    def spans(self, text: str) -> list[tuple[int, int, Address]]:
        return contact_spans(text, names=self.names)

    def owns(self, address: Address) -> bool:
        if address.kind == "email":
            return address.key in self.emails
        if address.kind == "phone":
            return any(
                same_phone(address.key, own) for own in self._phones_by_ending.get(_phone_index(address.key), ())
            )
        # A word the person wrote ("ASP.NET/Blazor") is theirs, whatever it looks like.
        written = unicodedata.normalize("NFKC", address.text).translate(_DOTS).rstrip(_TRAILING).casefold()
        return address.key in self.urls or written in self.mine

    def replacement(self, address: Address, shown: Shown) -> Address | None:
        """The person's own address to show instead of a foreign one: their only one of that kind (for a
        URL, their only one on that host), unless the output already shows it."""
        if address.kind == "url":
            candidates = self._urls_by_host.get(_host(address.key), {})
        else:
            candidates = self.emails if address.kind == "email" else self.phones
        if len(candidates) != 1:
            return None
        key, text = next(iter(candidates.items()))
        instead = Address(address.kind, key, text)
        return None if shown.shows(instead) else instead

    def link_target(self, address: Address) -> str:
        """A link target for one of the person's own addresses."""
        if address.kind == "email":
            return f"mailto:{self.emails.get(address.key, address.text)}"
        if address.kind == "phone":
            return "tel:" + re.sub(r"[^\d+]", "", address.text)
        own = self.urls.get(address.key, address.text)
        return own if re.match(r"https?://", own, re.I) else f"https://{own}"


class Shown:
    """The person's own addresses an output shows (looked up by key, not by a scan)."""

    def __init__(self, addresses: Iterable[Address]) -> None:
        self.keys: set[tuple[str, str]] = set()
        self.phone_endings: dict[str, set[str]] = {}
        for address in addresses:
            self.add(address)

    def add(self, address: Address) -> None:
        self.keys.add((address.kind, address.key))
        if address.kind == "phone":
            self.phone_endings.setdefault(_phone_index(address.key), set()).add(address.key)

    def shows(self, address: Address) -> bool:
        if address.kind != "phone":
            return (address.kind, address.key) in self.keys
        return any(same_phone(address.key, key) for key in self.phone_endings.get(_phone_index(address.key), ()))
