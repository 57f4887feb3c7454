"""What the rewrite changed: a line diff between the uploaded CV's text and the improved CV.

The improved CV is compared as a reader sees it (one line per heading, paragraph, list item or table
row, Markdown markers removed), so a line that only gained "## " or "- " is not a change; lines are
matched ignoring case, spacing and bullet glyphs. Both sides are capped, so the diff stays fast.
"""

from __future__ import annotations

import difflib
import re

from cv.cv_document import block_plain_text, parse
from cv.exports import improved_markdown
from cv.models import AIResponse

MAX_LINES = 1000
_BULLETS = re.compile(r"^[\s\u2022\u25cf\u25aa\u2023\u2043\u2219\u00b7*>-]+")


def _key(line: str) -> str:
    return " ".join(_BULLETS.sub("", line).split()).casefold()


def _uploaded_lines(text: str) -> list[str]:
    lines = [" ".join(line.split()) for line in (text or "").splitlines()]
    return [line for line in lines if line][:MAX_LINES]


def _improved_lines(markdown: str) -> list[str]:
    lines: list[str] = []
    for block in parse(markdown):
        if block.kind == "rule":
            continue
        if block.kind == "table":
            lines += [" | ".join(cell for cell in row if cell) for row in block.rows]
        else:
            lines += block_plain_text(block).splitlines()
    return [line for line in (" ".join(item.split()) for item in lines) if line][:MAX_LINES]


def line_diff(before: list[str], after: list[str]) -> dict:
    before_keys, after_keys = [_key(line) for line in before], [_key(line) for line in after]
    matcher = difflib.SequenceMatcher(a=before_keys, b=after_keys, autojunk=False)
    lines: list[dict[str, str]] = []
    for tag, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if tag == "equal":
            lines += [{"op": "equal", "text": line} for line in after[b_start:b_end]]
            continue
        lines += [{"op": "delete", "text": line} for line in before[a_start:a_end]]
        lines += [{"op": "insert", "text": line} for line in after[b_start:b_end]]
    counts = {op: sum(line["op"] == op for line in lines) for op in ("equal", "insert", "delete")}
    stats = {
        "unchanged": counts["equal"],
        "inserted": counts["insert"],
        "deleted": counts["delete"],
        "lines_before": len(before),
        "lines_after": len(after),
        "similarity": round(matcher.ratio(), 3),
    }
    return {"lines": lines, "stats": stats}


def ai_response_diff(*, response: AIResponse) -> dict:
    """The diff of a finished response (409 while it has no improved CV)."""
    return line_diff(_uploaded_lines(response.questionnaire.resume_text), _improved_lines(improved_markdown(response)))
