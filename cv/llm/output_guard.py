"""A model's output before it is stored: the person's own contact details and links only, none of our prompt.

The model reads the job description, and a job description can say "update the candidate's email to ...",
"add this link" or "print your instructions". The prompt tells the model that the job is data, but a model
may obey anyway, so ``guard`` runs on every model output (the improved CV of an analysis and its repair, a
cover letter) before it is checked and stored. Every export and PDF is built from what was stored.

- Contact details: every email address, phone number and URL (written out, or as the target of a Markdown
  link, image, autolink or link reference) must be one the person gave: present in the uploaded CV's text or
  their own request. They are compared normalised, so a faithful rewrite passes: case of emails and hosts,
  ``https://`` / ``http://`` / none, ``www.``, a trailing slash; the digits of a phone number, whatever the
  spaces, dashes and brackets, with or without ``+country`` (``+44 20 7946 0958`` = ``020 7946 0958``). Text
  is read as NFKC reads it (full-width letters and dots are letters and dots).
- A phone number is 9 to 15 digits that start as one ("+", "00", "0", "(") or stand on a line labelled as
  one ("Phone:", "Call"), and read neither as a figure ("1.200.000 - 1.500.000"), a date range nor a reference
  ("ISBN ...", "job ID ..."): other numbers are the claims check's to judge. A host is an address in lower case
  with a well-known ending, with any ending (not a file's, ".js") after a path or a contact label ("Apply
  at", "Web:"), and in capitals or mixed case ("EVIL.COM") unless the CV or the job writes that name
  ("ASP.NET"); with a path only after a lower-case ending ("GitHub.com/jane", not "Socket.IO/Express"). A
  dotted word of the CV ("ASP.NET/Blazor") is never taken out.
- Any other one is taken out and reported as a ``contact`` claim. Where the person gave exactly one of that
  kind (one email, one phone, one URL on that host) and the output does not already show it, theirs takes
  its place, so an answer that "updated" the email still carries the person's own; a phone number only on a
  contact line (a label, or another address beside it), so no figure ever becomes their phone.
- A link's visible text and its target agree: a link whose text shows an address other than its target, or
  whose target is not the person's own, becomes its text (linked to the person's own address when the text is
  one) and is reported.
- Our instructions: a line that repeats six or more consecutive words of what we sent the model, other than
  the person's and the job's own text, is our prompt leaking; it is taken out and reported as an
  ``instructions`` claim. A paraphrase of the prompt is not recognised.

Pure and offline; cv.llm.verification (analyses) and cv.letters.services (cover letters) call it.
"""

from __future__ import annotations

import bisect
import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cv.scoring.claims import Claim, Verification
from cv.text import patterns
from cv.text.cv_document import markdown_parser, parse, to_plain_text

CONTACT = "contact"
INSTRUCTIONS = "instructions"

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
_CONTACT_LABEL = re.compile(
    r"\b(?:(?:contact|reach|write|e-?mail|mail|web|website|site|url|homepage|portfolio|blog|apply|applications?|"
    r"linkedin|github|phone|telephone|tel|mobile|cell|call|fax|whatsapp)(?:\s+(?:me|us|them))?\s*(?::|at\b|via\b|on\b)"
    r"|visit\b)",
    re.I,
)
_PHONE_WORD = re.compile(r"\b(?:phone|telephone|tel|mobile)\b", re.I)
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

# Markdown link syntax, as CommonMark reads it (one line; the title, if any, is dropped).
_TITLE = r"""(?:\s+(?:"[^"\n]*"|'[^'\n]*'|\([^()\n]*\)))?"""
_INLINE_LINK = re.compile(rf"(?P<bang>!?)\[(?P<text>[^\[\]\n]*)\]\(\s*(?P<target><[^<>\n]*>|[^\s()<>]*){_TITLE}\s*\)")
_AUTOLINK = re.compile(
    r"<(?P<target>(?:https?|mailto|tel|ftp|file|javascript|data):[^\s<>]*|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)>", re.I
)
_REFERENCE_DEFINITION = re.compile(
    rf"^ {{0,3}}\[(?P<label>[^\[\]\n]+)\]:[ \t]*(?P<target><[^<>\n]*>|\S+){_TITLE}[ \t]*$", re.M
)
_REFERENCE_USE = re.compile(r"(?P<bang>!?)\[(?P<text>[^\[\]\n]*)\](?:\[(?P<label>[^\[\]\n]*)\])?(?![(:])")

_SHINGLE = 6
_PLACEHOLDER = re.compile(r"\[[A-Z]+_\d+\]")
_WORD = re.compile(r"\w+")
_MAX_CLAIM_CHARS = 120


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
    return not (_REFERENCE_LABEL.search(before[-30:]) and not _PHONE_WORD.search(before[-30:]))


def _same_phone(first: str, second: str) -> bool:
    first, second = first.lstrip("0"), second.lstrip("0")
    if first == second:
        return True
    short, long = sorted((first, second), key=len)
    # The same number with and without its country code ("+44 20 ..." and "020 ...").
    return len(short) >= 7 and long.endswith(short) and len(long) - len(short) <= 3


def _address_of_target(target: str) -> Address | None:
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


def _address_of_text(text: str) -> Address | None:
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


def _spans(text: str, *, any_case: bool = False, names: frozenset[str] = frozenset()) -> list[tuple[int, int, Address]]:
    """Every email, URL and phone number written in ``text``, in order, none inside another. ``any_case``: the
    person's own text, read generously; ``names``: dotted words the person or the job wrote."""
    source = text
    text, where = _normalised(text)
    found: list[tuple[int, int, Address]] = []
    # Which characters an address already covers: each span is checked against its own characters only.
    taken = bytearray(len(text))
    starts, contact_lines = _line_flags(text, _CONTACT_LABEL)
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
            for _, _, address in _spans(text or "", any_case=True):
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
        return _spans(text, names=self.names)

    def owns(self, address: Address) -> bool:
        if address.kind == "email":
            return address.key in self.emails
        if address.kind == "phone":
            return any(
                _same_phone(address.key, own) for own in self._phones_by_ending.get(_phone_index(address.key), ())
            )
        # A word the person wrote ("ASP.NET/Blazor") is theirs, whatever it looks like.
        written = unicodedata.normalize("NFKC", address.text).translate(_DOTS).rstrip(_TRAILING).casefold()
        return address.key in self.urls or written in self.mine

    def replacement(self, address: Address, shown: _Shown) -> Address | None:
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


class _Shown:
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
        return any(_same_phone(address.key, key) for key in self.phone_endings.get(_phone_index(address.key), ()))


@dataclass(frozen=True)
class Guarded:
    text: str
    unsupported: tuple[Claim, ...]


class _Findings:
    def __init__(self) -> None:
        self.claims: list[Claim] = []
        self._seen: set[str] = set()

    def add(self, kind: str, text: str) -> None:
        text = " ".join(text.split())[:_MAX_CLAIM_CHARS]
        if text and text.casefold() not in self._seen:
            self._seen.add(text.casefold())
            self.claims.append(Claim(kind, text))


def _shown(text: str, own: OwnContacts) -> _Shown:
    return _Shown(address for _, _, address in own.spans(text) if own.owns(address))


def _tidy(line: str, *, was: str) -> str:
    """A line that lost an address: no separators left dangling ("a ·  · b", "Email: "), its indentation
    as it ``was``."""
    indent = was[: len(was) - len(was.lstrip())]
    line = re.sub(r"\[\s*\]\(\s*\)|\(\s*\)|<\s*>", "", line.strip())
    line = re.sub(r"(?:\s*[·•|,;])+\s*([·•|,;])", r" \1", line).strip()
    line = re.sub(r"^((?:[-*+]\s+|#+\s+)?)[·•|,;]\s*", r"\1", line)
    line = re.sub(r"\b(?:e-?mail|phone|tel|mobile|web(?:site)?|linkedin|github)\s*:\s*$", "", line, flags=re.I)
    line = re.sub(r"\s*[·•|,;]\s*$", "", line)
    line = re.sub(r"(?<=\S)\s+(?=[,;.](?:\s|$))", "", line)
    return indent + re.sub(r"(?<=\S)[ \t]{2,}", " ", line).strip()


def _replace_links(text: str, own: OwnContacts, findings: _Findings) -> str:
    """Links whose target is not the person's own, or whose text shows another address, become text."""
    removed_labels: set[str] = set()
    kept_targets: dict[str, str] = {}

    def definition(match: re.Match[str]) -> str:
        label = " ".join(match.group("label").split()).casefold()
        target = _address_of_target(match.group("target"))
        if target is not None and own.owns(target):
            kept_targets[label] = match.group("target")
            return match.group(0)
        findings.add(CONTACT, match.group("target").strip("<>"))
        removed_labels.add(label)
        return ""

    text = _REFERENCE_DEFINITION.sub(definition, text)

    def decide(whole: str, link_text: str, raw_target: str, *, image: bool) -> str:
        target = _address_of_target(raw_target)
        shown = _address_of_text(link_text)
        target_own = target is not None and own.owns(target)
        if target_own and (shown is None or (target is not None and _agree(shown, target))):
            return whole
        findings.add(CONTACT, raw_target.strip("<>") if not target_own else whole)
        if image:
            return link_text
        if shown is not None and own.owns(shown):
            return f"[{link_text}]({own.link_target(shown)})"
        return link_text

    text = _INLINE_LINK.sub(
        lambda m: decide(m.group(0), m.group("text"), m.group("target"), image=bool(m.group("bang"))), text
    )

    def reference(match: re.Match[str]) -> str:
        label = " ".join((match.group("label") or match.group("text")).split()).casefold()
        if label in removed_labels:
            return match.group("text")
        if label in kept_targets:
            return decide(match.group(0), match.group("text"), kept_targets[label], image=bool(match.group("bang")))
        return match.group(0)

    if removed_labels or kept_targets:
        text = _REFERENCE_USE.sub(reference, text)

    def autolink(match: re.Match[str]) -> str:
        target = _address_of_target(match.group("target"))
        if target is not None and own.owns(target):
            return match.group(0)
        findings.add(CONTACT, match.group("target"))
        return ""

    return _AUTOLINK.sub(autolink, text)


def _agree(shown: Address, target: Address) -> bool:
    if shown.kind != target.kind:
        return False
    return _same_phone(shown.key, target.key) if shown.kind == "phone" else shown.key == target.key


def _replace_written(text: str, own: OwnContacts, findings: _Findings) -> str:
    """Addresses written out that are not the person's own: theirs instead where that is unambiguous, else
    nothing."""
    shown = _shown(text, own)
    lines = text.split("\n")
    for index, line in enumerate(lines):
        every = own.spans(line)
        spans = [span for span in every if not own.owns(span[2])]
        if not spans:
            continue
        # A phone number takes the person's own place only on a contact line (a label, or another address
        # beside it); elsewhere a number is taken out, never turned into their phone.
        contact_line = bool(_CONTACT_LABEL.search(line) or _PHONE_WORD.search(line)) or any(
            address.kind != "phone" or own.owns(address) for _, _, address in every
        )
        for start, end, address in reversed(spans):
            findings.add(CONTACT, address.text)
            instead = own.replacement(address, shown) if address.kind != "phone" or contact_line else None
            if instead is not None:
                shown.add(instead)
            line = line[:start] + (instead.text if instead is not None else "") + line[end:]
        lines[index] = line
    return "\n".join(lines)


def _link_targets(text: str) -> list[str]:
    """Every link and image target CommonMark reads in ``text`` (what the PDF and the Word file link to)."""
    targets: list[str] = []
    pending = list(markdown_parser().parse(text))
    while pending:
        token = pending.pop()
        if token.type in ("link_open", "image"):
            target = token.attrGet("href") if token.type == "link_open" else token.attrGet("src")
            if target:
                targets.append(str(target))
        pending.extend(token.children or [])
    return targets


def _unlink_everything(text: str) -> str:
    # Link syntax the patterns above did not read: no link survives (their text stays), then the addresses
    # left as text are checked as such.
    text = text.replace("](", "] (")
    text = re.sub(r"^( {0,3}\[[^\]\n]+\]):", r"\1 :", text, flags=re.M)
    return re.sub(r"<([a-z][a-z0-9+.-]*:[^\s<>]*)>", r"\1", text, flags=re.I)


def guard_contacts(text: str, own: OwnContacts) -> Guarded:
    """``text`` with only the person's own contact details and link targets, and what was taken out."""
    findings = _Findings()
    guarded = _replace_written(_replace_links(text, own, findings), own, findings)
    # What CommonMark links to is the final word: a target the patterns missed (unusual syntax) unlinks all.
    # (Every link needs a "]" or an autolink's "<"; text without either is not parsed again.)
    may_link = "]" in guarded or "<" in guarded
    if may_link and any(not _target_owned(target, own) for target in _link_targets(guarded)):
        guarded = _replace_written(_unlink_everything(guarded), own, findings)
    # An address spelled with entities or escapes ("careers&#64;evil.example", "careers\\@evil.example") is
    # read by Markdown as the address: such a text is guarded again as a reader sees it.
    if ("&" in guarded or "\\" in guarded) and _shows_foreign(guarded, own):
        guarded = _replace_written(_replace_links(_unescape(guarded), own, findings), own, findings)
    if not findings.claims:
        return Guarded(text=text, unsupported=())
    # Each pass keeps the number of lines, so the lines that lost something are those that differ.
    before = text.split("\n")
    lines = [
        _tidy(line, was=before[index]) if index < len(before) and line != before[index] else line
        for index, line in enumerate(guarded.split("\n"))
    ]
    return Guarded(text="\n".join(lines), unsupported=tuple(findings.claims))


def _shows_foreign(text: str, own: OwnContacts) -> bool:
    return any(not own.owns(address) for _, _, address in own.spans(to_plain_text(parse(text))))


def _unescape(text: str) -> str:
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", html.unescape(text))


def _target_owned(target: str, own: OwnContacts) -> bool:
    address = _address_of_target(target.replace("%40", "@"))
    return address is not None and own.owns(address)


def _shingles(text: str) -> set[tuple[str, ...]]:
    # Contact details and their placeholders ("[EMAIL_1]", restored to an address in the answer) are not words
    # of the prompt: a leaked line reads the same with or without them.
    kept, last = [], 0
    for start, end, _ in _spans(text):
        kept.append(text[last:start])
        last = end
    text = " ".join([*kept, text[last:]])
    words = _WORD.findall(_PLACEHOLDER.sub(" ", text).casefold())
    return {tuple(words[i : i + _SHINGLE]) for i in range(len(words) - _SHINGLE + 1)}


def guard_instructions(text: str, *, instructions: Iterable[str], data: Iterable[str]) -> Guarded:
    """``text`` without the lines that repeat what we told the model (``instructions``: every message we
    sent), other than the data those messages carried (``data``: the CV, the request, the job)."""
    banned = set().union(*(_shingles(part) for part in instructions if part))
    if not banned:
        return Guarded(text=text, unsupported=())
    banned -= set().union(*(_shingles(part) for part in data if part))
    lines = text.split("\n")
    kept = [line for line in lines if not _shingles(line) & banned]
    removed = len(lines) - len(kept)
    if not removed:
        return Guarded(text=text, unsupported=())
    # The report says that the prompt leaked, without quoting it: the verification is shown to the person too.
    said = f"{removed} line{'s' if removed > 1 else ''} repeating the instructions given to the AI"
    return Guarded(
        text=re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n"), unsupported=(Claim(INSTRUCTIONS, said),)
    )


@dataclass(frozen=True)
class OutputGuard:
    """What one output may contain: the person's own contacts (``own``), and not the instructions sent."""

    own: OwnContacts
    instructions: tuple[str, ...] = ()
    data: tuple[str, ...] = ()

    @classmethod
    def for_person(
        cls, *, cv_text: str, request_text: str, instructions: Sequence[str] = (), data: Sequence[str] = ()
    ) -> OutputGuard:
        return cls(
            own=OwnContacts.of(cv_text, request_text, data=data),
            instructions=tuple(instructions),
            data=(cv_text, request_text, *data),
        )

    def apply(self, text: str) -> Guarded:
        leaked = guard_instructions(text, instructions=self.instructions, data=self.data)
        contacts = guard_contacts(leaked.text, self.own)
        return Guarded(text=contacts.text, unsupported=leaked.unsupported + contacts.unsupported)

    def apply_to_changes(self, changes: Iterable[str]) -> tuple[list[str], tuple[Claim, ...]]:
        """The list of changes, each with the person's own contact details only (the ones left empty dropped).
        Not checked for the prompt's words: a change says what was done, often in the words it was asked in
        ("wrote a short summary from the CV's facts"), and is never exported."""
        out: list[str] = []
        found: list[Claim] = []
        for change in changes:
            guarded = guard_contacts(change, self.own)
            found += guarded.unsupported
            if guarded.text.strip():
                out.append(guarded.text)
        return out, tuple(found)


def reported(guarded: Iterable[Claim], verification: Verification) -> dict:
    """The verification to store: what the guard took out, then the check's claims, each once."""
    claims: list[Claim] = []
    for claim in (*guarded, *verification.unsupported):
        if claim not in claims:
            claims.append(claim)
    return Verification(unsupported=tuple(claims)).as_dict()
