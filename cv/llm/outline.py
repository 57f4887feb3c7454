"""A CV's text read as an outline: its header, its sections and, in the experience and projects sections, its
roles, each with the lines that name it (title, employer, dates) and its points.

The outline is what cv.llm.piecewise rewrites part by part and puts back together: a role's header lines are
kept exactly as the person wrote them, so no employer, title or date can be lost or changed by the model;
only the summary and the points are rewritten. Pure, offline and linear in the text's length.

A role starts at a line with a year in it that is short enough to be a heading (the offline analyser's
rule). In a section whose points are bullets, the plain lines next to that line (before it back to the last
bullet, after it up to the first bullet) name the role too: "Staff Nurse" above "Hospital | 2021 - Present".
In a section without bullets every line after a role's first line is a point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from cv.intake import limits
from cv.llm import offline

_BULLET = re.compile(r"^\s*(?:[-*+•▪◦‣\u2013]|\d{1,2}[.)])\s+")
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
# A role's heading line: the offline analyser's bound, so both read the same lines as roles.
_MAX_HEADING_CHARS = 120
ROLE_SECTIONS = frozenset({"experience", "projects"})


@dataclass(frozen=True)
class Role:
    header: tuple[str, ...]  # the lines that name the role, as written
    points: tuple[str, ...]  # one per point, bullet markers removed, wrapped lines joined


@dataclass(frozen=True)
class Section:
    key: str | None  # matching.section_of_heading's key
    title: str  # the heading as written, without Markdown or a colon
    lines: tuple[str, ...]  # the section's lines (wrapped lines joined); for a role section, what precedes the roles
    roles: tuple[Role, ...] = ()


@dataclass(frozen=True)
class Outline:
    header: tuple[str, ...]  # name first, then the contact lines
    sections: tuple[Section, ...]

    @property
    def roles(self) -> list[Role]:
        return [role for section in self.sections for role in section.roles]

    def section(self, key: str) -> Section | None:
        return next((section for section in self.sections if section.key == key), None)


def is_bullet(line: str) -> bool:
    return bool(_BULLET.match(line))


def unbullet(line: str) -> str:
    return _BULLET.sub("", line, count=1).strip()


def _is_role_line(line: str) -> bool:
    return bool(_YEAR.search(line)) and len(line) < _MAX_HEADING_CHARS and not is_bullet(line)


def _roles(lines: list[str]) -> tuple[list[str], list[Role]]:
    """(lines before the first role, roles) of a role section's lines."""
    bulleted = any(is_bullet(line) for line in lines)
    anchors = [index for index, line in enumerate(lines) if _is_role_line(line)]
    if not anchors:
        return lines, []
    # Each role's header: its anchor line, and in a bulleted section the plain lines around it.
    spans: list[tuple[int, int]] = []
    for anchor in anchors:
        start, end = anchor, anchor + 1
        if bulleted:
            floor = spans[-1][1] if spans else 0
            while start > floor and not is_bullet(lines[start - 1]) and start - 1 not in anchors:
                start -= 1
            while end < len(lines) and not is_bullet(lines[end]) and end not in anchors and end - start < 4:
                end += 1
        if spans and start < spans[-1][1]:
            # Two date lines in one header ("2019 - 2021" under "Employer, 2019"): one role.
            spans[-1] = (spans[-1][0], end)
            continue
        spans.append((start, end))
    preamble = lines[: spans[0][0]]
    roles = []
    for number, (start, end) in enumerate(spans):
        stop = spans[number + 1][0] if number + 1 < len(spans) else len(lines)
        points = [unbullet(line) for line in lines[end:stop] if unbullet(line)]
        roles.append(Role(header=tuple(line.strip() for line in lines[start:end]), points=tuple(points)))
    return preamble, roles


def outline(cv_text: str) -> Outline:
    """The CV's outline (see the module's docstring). Never fails: a CV with no sections is all header."""
    header, blocks = offline.split_sections(cv_text)
    sections = []
    for key, title, lines in blocks:
        if key in ROLE_SECTIONS:
            preamble, roles = _roles(lines)
            sections.append(Section(key=key, title=title, lines=tuple(preamble), roles=tuple(roles)))
        else:
            sections.append(Section(key=key, title=title, lines=tuple(lines)))
    return Outline(header=tuple(header), sections=tuple(sections))


def with_parts(
    cv: Outline,
    *,
    summary: str | None,
    points: dict[int, tuple[str, ...]],
    skills: tuple[str, ...] | None = None,
) -> Outline:
    """The outline with the summary's text, the skills section's lines and the points of some roles (by
    their index in ``cv.roles``) replaced."""
    sections = []
    index = 0
    for section in cv.sections:
        if section.key == "summary" and summary is not None:
            section = replace(section, lines=(summary,))
        if section.key == "skills" and skills is not None:
            section = replace(section, lines=skills)
        roles = []
        for role in section.roles:
            roles.append(replace(role, points=points[index]) if index in points else role)
            index += 1
        sections.append(replace(section, roles=tuple(roles)))
    return replace(cv, sections=tuple(sections))


def markdown(cv: Outline) -> str:
    """The outline as the service's Markdown CV: the name as the title, a heading per section, a level-3
    heading per role (its header lines joined by " · "), and its points as bullets."""
    out: list[str] = []
    if cv.header:
        out.append(f"# {cv.header[0]}")
        for line in cv.header[1:]:
            out.extend(["", line])
    for section in cv.sections:
        out.extend(["", f"## {offline.section_title(section.key, section.title)}", ""])
        if section.key == "summary":
            out.append(" ".join(section.lines))
            continue
        for line in section.lines:
            # Bullets make one list; each plain line is its own paragraph, as the person set it apart.
            out.extend([f"- {unbullet(line)}"] if is_bullet(line) else ["", line, ""])
        for role in section.roles:
            # One heading for the lines that name the role ("### Title · Employer | dates"): the truthfulness
            # check reads a title with its employer where they share a line, as "Title, Employer (dates)".
            out.extend(["", f"### {' · '.join(role.header)}", ""])
            out.extend(f"- {point}" for point in role.points)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()
    return text if _within_bounds(text) else ""


def _within_bounds(text: str) -> bool:
    try:
        limits.check_cv_text(text)
    except limits.CVTextOutOfBounds:
        return False
    return True
