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

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cv.llm.contacts import (
    CONTACT_LABEL,
    PHONE_WORD,
    Address,
    OwnContacts,
    Shown,
    address_of_target,
    address_of_text,
    contact_spans,
    same_phone,
)
from cv.scoring.verdict import Claim, Verification
from cv.text.cv_document import markdown_parser, parse, to_plain_text

CONTACT = "contact"

INSTRUCTIONS = "instructions"

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


def _shown(text: str, own: OwnContacts) -> Shown:
    return Shown(address for _, _, address in own.spans(text) if own.owns(address))


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
        target = address_of_target(match.group("target"))
        if target is not None and own.owns(target):
            kept_targets[label] = match.group("target")
            return match.group(0)
        findings.add(CONTACT, match.group("target").strip("<>"))
        removed_labels.add(label)
        return ""

    text = _REFERENCE_DEFINITION.sub(definition, text)

    def decide(whole: str, link_text: str, raw_target: str, *, image: bool) -> str:
        target = address_of_target(raw_target)
        shown = address_of_text(link_text)
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
        target = address_of_target(match.group("target"))
        if target is not None and own.owns(target):
            return match.group(0)
        findings.add(CONTACT, match.group("target"))
        return ""

    return _AUTOLINK.sub(autolink, text)


def _agree(shown: Address, target: Address) -> bool:
    if shown.kind != target.kind:
        return False
    return same_phone(shown.key, target.key) if shown.kind == "phone" else shown.key == target.key


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
        contact_line = bool(CONTACT_LABEL.search(line) or PHONE_WORD.search(line)) or any(
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
    address = address_of_target(target.replace("%40", "@"))
    return address is not None and own.owns(address)


def _shingles(text: str) -> set[tuple[str, ...]]:
    # Contact details and their placeholders ("[EMAIL_1]", restored to an address in the answer) are not words
    # of the prompt: a leaked line reads the same with or without them.
    kept, last = [], 0
    for start, end, _ in contact_spans(text):
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
