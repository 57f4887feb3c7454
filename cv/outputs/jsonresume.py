"""The improved CV (Markdown) read into a JSON Resume 1.0 document, so other tools can import it.

The reading is deterministic and conservative: a field is filled only when the CV states it in a form we
recognise (a date range next to a job, "Degree - School" headings, "Area: a, b" skill lines); anything
else stays in the entry's summary or is left out, never guessed. ``cv/outputs/schemas/jsonresume-1.0.0.json`` is
the schema the result is valid against.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from cv.outputs.dates import date_range
from cv.text import patterns
from cv.text.cv_document import Block, block_plain_text, parse

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "jsonresume-1.0.0.json"

SCHEMA_URL = "https://raw.githubusercontent.com/jsonresume/resume-schema/v1.0.0/schema.json"

_MAX_ENTRIES = 100

_SECTIONS = (
    ("summary", ("summary", "profile", "about", "objective", "personal statement")),
    ("certificates", ("certific", "licen", "accreditation")),
    ("languages", ("language",)),
    ("skills", ("skill", "competenc", "technolog", "tools", "expertise")),
    ("education", ("education", "academic", "qualification", "training", "studies")),
    ("projects", ("project",)),
    ("volunteer", ("volunteer",)),
    ("awards", ("award", "honour", "honor", "achievement")),
    ("interests", ("interest", "hobbies")),
    ("work", ("experience", "employment", "work", "career", "positions", "professional history")),
)

_EMAIL = patterns.EMAIL

_PHONE = patterns.PHONE

_URL = re.compile(r"(?:https?://)?(?:www\.)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?:/[^\s·|,;]*)?", re.IGNORECASE)

_SEPARATORS = re.compile(r"\s*(?:·|•|\||;|\u2022|\s—\s|\s\u2013\s)\s*")

_TITLE_SPLIT = re.compile(r"\s+(?:—|\u2013|-|\||@|at)\s+|\s*[—\u2013|]\s*")

_PROFILES = {"github.com": "GitHub", "linkedin.com": "LinkedIn", "gitlab.com": "GitLab", "twitter.com": "Twitter"}

_SCHOOL = re.compile(
    r"universit|college|school|institut|academy|polytechn|hochschule|école|ecole|lycée|faculty", re.IGNORECASE
)

_DEGREE = re.compile(
    r"^(?P<type>B\.?\s?Sc\.?|M\.?\s?Sc\.?|B\.?\s?A\.?|M\.?\s?A\.?|B\.?\s?Eng\.?|M\.?\s?Eng\.?|Ph\.?\s?D\.?|MBA|LL\.?[BM]|"
    r"B\.?S\.?|M\.?S\.?|BTEC|HND|A-?levels?|Bachelor(?:'s)?(?: of [A-Z][a-z]+)?|Master(?:'s)?(?: of [A-Z][a-z]+)?|"
    r"Doctor(?:ate)?(?: of [A-Z][a-z]+)?|Diploma|Associate(?:'s)?(?: of [A-Z][a-z]+)?)"
    r"\b\.?\s*(?:(?:in|of)\s+)?(?P<area>.*)$"
)

_LANGUAGE_SPLIT = re.compile(r"\s*(?:—|\u2013|-|:|\(|,)\s*")


def section_of(title: str) -> str | None:
    folded = title.casefold()
    for key, words in _SECTIONS:
        if any(word in folded for word in words):
            return key
    return None


def _split_title(text: str) -> tuple[str, str]:
    parts = [part.strip() for part in _TITLE_SPLIT.split(text, maxsplit=1) if part.strip()]
    if len(parts) == 2:
        if ", " in parts[0]:
            # "Title, Company - City": the dash separates the place, not the title.
            title, organisation = parts[0].split(", ", 1)
            return title.strip(), f"{organisation.strip()}, {parts[1]}"
        return parts[0], parts[1]
    if ", " in text:
        first, rest = text.split(", ", 1)
        return first.strip(), rest.strip()
    return text.strip(), ""


def _basics(name: str, header: list[Block], summary: list[str]) -> dict:
    basics: dict = {}
    if name:
        basics["name"] = name
    profiles: list[dict] = []
    leftovers: list[str] = []
    for block in header:
        for run in block.runs:
            link = run.link or ""
            if link.startswith("mailto:") and "email" not in basics:
                basics["email"] = link[len("mailto:") :]
        for part in _SEPARATORS.split(block_plain_text(block)):
            part = part.strip()
            if not part:
                continue
            email = _EMAIL.search(part)
            if email:
                basics.setdefault("email", email.group(0))
                continue
            phone = _PHONE.fullmatch(part)
            if phone and 7 <= sum(ch.isdigit() for ch in part) <= 15:
                basics.setdefault("phone", part)
                continue
            url = _URL.fullmatch(part.split(" (", 1)[0])
            if url:
                address = url.group(0)
                full = address if address.startswith("http") else f"https://{address}"
                host = re.sub(r"^https?://(www\.)?", "", full).split("/", 1)[0].casefold()
                network = _PROFILES.get(host)
                if network:
                    username = re.sub(r"^https?://(www\.)?", "", full).rstrip("/").split("/")[-1]
                    profiles.append({"network": network, "username": username, "url": full})
                else:
                    basics.setdefault("url", full)
                continue
            leftovers.append(part)
    if leftovers:
        place = leftovers[-1]
        city, _, region = place.partition(",")
        location = {"city": city.strip()}
        if region.strip():
            location["region"] = region.strip()
        basics["location"] = location
        if len(leftovers) > 1:
            basics["label"] = leftovers[0]
    if summary:
        basics["summary"] = "\n\n".join(summary)
    if profiles:
        basics["profiles"] = profiles
    return basics


def _entries(blocks: list[Block]) -> list[tuple[str, list[Block]]]:
    """Group a section by its sub-headings: (heading text or "", the blocks under it)."""
    entries: list[tuple[str, list[Block]]] = []
    for block in blocks:
        if block.kind == "heading":
            entries.append((block_plain_text(block), []))
        elif entries:
            entries[-1][1].append(block)
        else:
            entries.append(("", [block]))
    return entries


def _dated(title: str, blocks: list[Block]) -> tuple[str | None, str | None, str, list[Block]]:
    """The dates of an entry: in its heading, or in the first short line under it."""
    start, end, rest = date_range(title)
    if start:
        return start, end, rest, blocks
    for index, block in enumerate(blocks[:2]):
        if block.kind != "paragraph" or len(block.text) > 80:
            continue
        start, end, remainder = date_range(block_plain_text(block))
        if start:
            # A line with more than the dates ("2019 - 2021, remote") stays as written in the summary.
            kept = blocks if remainder else blocks[:index] + blocks[index + 1 :]
            return start, end, title, kept
    return None, None, title, blocks


def _with_dates(entry: dict, start: str | None, end: str | None) -> dict:
    if start:
        entry["startDate"] = start
    if end:
        entry["endDate"] = end
    return entry


def _texts(blocks: list[Block], kinds: tuple[str, ...]) -> list[str]:
    return [block_plain_text(b) for b in blocks if b.kind in kinds and block_plain_text(b)]


def _work(blocks: list[Block]) -> list[dict]:
    work = []
    for title, body in _entries(blocks):
        start, end, title, body = _dated(title, body)
        if not title and not body:
            continue
        position, company = _split_title(title)
        entry: dict = {}
        if company:
            name, _, place = company.partition(", ")
            entry["name"] = name.strip()
            if place.strip():
                entry["location"] = place.strip()
        if position:
            entry["position"] = position
        summary = _texts(body, ("paragraph", "quote"))
        if summary:
            entry["summary"] = "\n\n".join(summary)
        highlights = _texts(body, ("bullet", "numbered"))
        if highlights:
            entry["highlights"] = highlights
        work.append(_with_dates(entry, start, end))
    return work


def _education(blocks: list[Block]) -> list[dict]:
    education = []
    entries = _entries(blocks)
    if len(entries) == 1 and not entries[0][0]:
        # No sub-headings: each line is one qualification.
        entries = [(block_plain_text(block), []) for block in entries[0][1] if block.kind != "table"]
    for title, body in entries:
        start, end, title, body = _dated(title, body)
        if not title:
            continue
        first, second = _split_title(title)
        school, degree = (first, second) if _SCHOOL.search(first) and not _SCHOOL.search(second) else (second, first)
        entry: dict = {}
        if school:
            entry["institution"] = school
        match = _DEGREE.match(degree) if degree else None
        if match:
            entry["studyType"] = match.group("type").strip()
            if match.group("area").strip():
                entry["area"] = match.group("area").strip()
        elif degree:
            entry["area"] = degree
        courses = _texts(body, ("bullet", "numbered"))
        if courses:
            entry["courses"] = courses
        education.append(_with_dates(entry, start, end))
    return education


def _keywords(text: str) -> list[str]:
    return [word.strip(" .") for word in re.split(r"\s*[,;·•|]\s*", text) if word.strip(" .")]


def _skills(blocks: list[Block]) -> list[dict]:
    skills: list[dict] = []
    for block in blocks:
        if block.kind == "table":
            for row in block.rows[1:]:
                if len(row) >= 2 and row[0].strip():
                    skills.append({"name": row[0].strip(), "keywords": _keywords(", ".join(row[1:]))})
                elif row and row[0].strip():
                    skills.append({"name": row[0].strip()})
            continue
        text = block_plain_text(block)
        if not text or block.kind == "rule":
            continue
        if block.kind == "heading":
            skills.append({"name": text})
            continue
        label, colon, rest = text.partition(":")
        if colon and rest.strip() and len(label) <= 60:
            skills.append({"name": label.strip(), "keywords": _keywords(rest)})
        elif block.kind in ("bullet", "numbered") and "," not in text:
            skills.append({"name": text})
        else:
            skills.extend({"name": word} for word in _keywords(text))
    return skills


def _languages(blocks: list[Block]) -> list[dict]:
    languages = []
    for block in blocks:
        lines = block.rows[1:] if block.kind == "table" else [[line] for line in _keywords_lines(block)]
        for row in lines:
            text = " — ".join(cell for cell in row if cell)
            parts = [_balanced(p) for p in _LANGUAGE_SPLIT.split(text, maxsplit=1) if _balanced(p)]
            if not parts:
                continue
            entry = {"language": parts[0]}
            if len(parts) > 1:
                entry["fluency"] = parts[1]
            languages.append(entry)
    return languages


def _balanced(text: str) -> str:
    text = text.strip()
    if text.count(")") > text.count("("):
        text = text.rstrip(")").strip()
    elif text.count("(") > text.count(")"):
        text += ")"
    return text


def _keywords_lines(block: Block) -> list[str]:
    text = block_plain_text(block)
    if block.kind in ("bullet", "numbered", "heading"):
        return [text]
    return _keywords(text) if "," in text or ";" in text else [text]


def _certificates(blocks: list[Block]) -> list[dict]:
    certificates = []
    for block in blocks:
        if block.kind in ("table", "rule"):
            continue
        for line in [block_plain_text(block)]:
            start, _, rest = date_range(line)
            name, issuer = _split_title(rest)
            if not name:
                continue
            entry: dict = {"name": name}
            if issuer:
                entry["issuer"] = issuer
            if start:
                entry["date"] = start
            certificates.append(entry)
    return certificates


def _projects(blocks: list[Block]) -> list[dict]:
    projects = []
    for title, body in _entries(blocks):
        start, end, title, body = _dated(title, body)
        if title:
            entry: dict = {"name": title}
            description = _texts(body, ("paragraph", "quote"))
            if description:
                entry["description"] = "\n\n".join(description)
            highlights = _texts(body, ("bullet", "numbered"))
            if highlights:
                entry["highlights"] = highlights
            projects.append(_with_dates(entry, start, end))
        else:
            projects.extend({"name": text} for text in _texts(body, ("bullet", "numbered", "paragraph")))
    return projects


def _named(blocks: list[Block], key: str) -> list[dict]:
    return [{key: text} for text in _texts(blocks, ("bullet", "numbered", "paragraph", "heading"))]


def to_json_resume(markdown: str, *, last_modified: str | None = None) -> dict:
    """A JSON Resume 1.0 document for the CV in ``markdown``."""
    blocks = parse(markdown)
    name = ""
    index = 0
    if blocks and blocks[0].kind == "heading":
        name = block_plain_text(blocks[0])
        index = 1
    header: list[Block] = []
    while index < len(blocks) and not (blocks[index].kind == "heading" and blocks[index].level <= 2):
        header.append(blocks[index])
        index += 1
    sections: dict[str, list[Block]] = {}
    current: list[Block] | None = None
    for block in blocks[index:]:
        if block.kind == "heading" and block.level <= 2:
            key = section_of(block_plain_text(block))
            current = sections.setdefault(key, []) if key else None
        elif current is not None:
            current.append(block)

    summary = _texts(sections.get("summary", []), ("paragraph", "bullet", "numbered", "quote"))
    resume: dict = {"$schema": SCHEMA_URL, "basics": _basics(name, header, summary)}
    readers = {
        "work": _work,
        "education": _education,
        "skills": _skills,
        "languages": _languages,
        "certificates": _certificates,
        "projects": _projects,
        "volunteer": lambda b: [
            {k if k != "name" else "organization": v for k, v in entry.items()} for entry in _work(b)
        ],
        "awards": lambda b: _named(b, "title"),
        "interests": lambda b: _named(b, "name"),
    }
    for key, reader in readers.items():
        if key in sections:
            entries = [entry for entry in reader(sections[key]) if entry][:_MAX_ENTRIES]
            if entries:
                resume[key] = entries
    meta: dict = {"version": "v1.0.0"}
    if last_modified:
        meta["lastModified"] = last_modified
    resume["meta"] = meta
    return resume


@cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())
