"""What the rewrite changed: a line diff between the uploaded CV's text and the improved CV.

The improved CV is compared as a reader sees it (one line per heading, paragraph, list item or table
row, Markdown markers removed), so a line that only gained "## " or "- " is not a change; lines are
matched ignoring case, spacing and bullet glyphs. Both sides are capped, so the diff stays fast.

The matching is bounded and near-linear whatever the lines: the common start and end are matched first, then
lines that occur once on each side anchor the rest (the longest run of them in the same order, as patience
diff does), and only stretches small enough for it go to difflib, whose cost grows with the product of the
two sides (a CV of 1,000 repeated lines took seconds). A stretch too large for difflib with no such anchor is
cut into small stretches in step on both sides; what is left when the work budget is spent is shown as deleted
then inserted: correct, if less fine.
"""

from __future__ import annotations

import difflib
import re
from bisect import bisect_left

from cv.models import AIResponse
from cv.outputs.exports import improved_markdown
from cv.text.cv_document import block_plain_text, parse

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


# difflib's matcher runs on a stretch of at most this many line pairs (before x after): a few milliseconds even
# for its worst case (many copies of a few lines).
_DIFFLIB_PAIRS = 10_000
_DIFFLIB_SIDE = 100
# Line visits per line of input before the remaining stretches are left unmatched.
_WORK_PER_LINE = 20


def _unique_anchors(a: list[str], b: list[str], a0: int, a1: int, b0: int, b1: int) -> list[tuple[int, int]]:
    """Pairs (i, j) of lines that occur exactly once in a[a0:a1] and once in b[b0:b1], the longest chain of
    them in the same order on both sides (patience sorting: O(k log k))."""
    counts: dict[str, list[int]] = {}
    for i in range(a0, a1):
        entry = counts.setdefault(a[i], [0, 0, i])
        entry[0] += 1
    for j in range(b0, b1):
        if b[j] in counts:
            counts[b[j]][1] += 1
    pairs = [(counts[b[j]][2], j) for j in range(b0, b1) if b[j] in counts and counts[b[j]][0] == 1 == counts[b[j]][1]]
    # Longest increasing subsequence of the a-indices, the pairs being in b order.
    tails: list[int] = []
    tail_at: list[int] = []
    previous: list[int] = [-1] * len(pairs)
    for index, (i, _) in enumerate(pairs):
        position = bisect_left(tails, i)
        if position == len(tails):
            tails.append(i)
            tail_at.append(index)
        else:
            tails[position] = i
            tail_at[position] = index
        previous[index] = tail_at[position - 1] if position else -1
    chain: list[tuple[int, int]] = []
    index = tail_at[-1] if tail_at else -1
    while index >= 0:
        chain.append(pairs[index])
        index = previous[index]
    return chain[::-1]


def _matched_pairs(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    """Index pairs (i, j) with a[i] == b[j], increasing on both sides: the lines the diff keeps as equal."""
    pairs: list[tuple[int, int]] = []
    budget = _WORK_PER_LINE * (len(a) + len(b)) + _DIFFLIB_PAIRS
    stretches = [(0, len(a), 0, len(b))]
    while stretches:
        a0, a1, b0, b1 = stretches.pop()
        while a0 < a1 and b0 < b1 and a[a0] == b[b0]:
            pairs.append((a0, b0))
            a0, b0 = a0 + 1, b0 + 1
        while a0 < a1 and b0 < b1 and a[a1 - 1] == b[b1 - 1]:
            a1, b1 = a1 - 1, b1 - 1
            pairs.append((a1, b1))
        if a0 == a1 or b0 == b1 or budget <= 0:
            continue
        budget -= (a1 - a0) + (b1 - b0)
        if (a1 - a0) * (b1 - b0) <= _DIFFLIB_PAIRS:
            matcher = difflib.SequenceMatcher(a=a[a0:a1], b=b[b0:b1], autojunk=False)
            for i, j, size in matcher.get_matching_blocks():
                pairs += [(a0 + i + k, b0 + j + k) for k in range(size)]
            continue
        anchors = _unique_anchors(a, b, a0, a1, b0, b1)
        if not anchors:
            # No line occurs once on each side (many copies of a few lines): cut both sides into as many
            # stretches, in step, each small enough for difflib.
            parts = -(-max(a1 - a0, b1 - b0) // _DIFFLIB_SIDE)
            stretches += [
                (a0 + (a1 - a0) * k // parts, a0 + (a1 - a0) * (k + 1) // parts,
                 b0 + (b1 - b0) * k // parts, b0 + (b1 - b0) * (k + 1) // parts)
                for k in range(parts)
            ]  # fmt: skip
            continue
        # Between two anchors (and before the first, after the last) is a stretch of its own.
        previous_i, previous_j = a0, b0
        for i, j in anchors:
            pairs.append((i, j))
            stretches.append((previous_i, i, previous_j, j))
            previous_i, previous_j = i + 1, j + 1
        stretches.append((previous_i, a1, previous_j, b1))
    pairs.sort()
    return pairs


def line_diff(before: list[str], after: list[str]) -> dict:
    before_keys, after_keys = [_key(line) for line in before], [_key(line) for line in after]
    lines: list[dict[str, str]] = []
    a_at = b_at = 0
    for i, j in [*_matched_pairs(before_keys, after_keys), (len(before), len(after))]:
        lines += [{"op": "delete", "text": line} for line in before[a_at:i]]
        lines += [{"op": "insert", "text": line} for line in after[b_at:j]]
        if i < len(before):
            lines.append({"op": "equal", "text": after[j]})
        a_at, b_at = i + 1, j + 1
    counts = {op: sum(line["op"] == op for line in lines) for op in ("equal", "insert", "delete")}
    total = len(before) + len(after)
    stats = {
        "unchanged": counts["equal"],
        "inserted": counts["insert"],
        "deleted": counts["delete"],
        "lines_before": len(before),
        "lines_after": len(after),
        # difflib's ratio: twice the lines kept over the lines on both sides.
        "similarity": round(2 * counts["equal"] / total, 3) if total else 1.0,
    }
    return {"lines": lines, "stats": stats}


UPLOAD = "upload"


def _side_lines(response: AIResponse, side: int | str | None) -> list[str]:
    if side == UPLOAD:
        return _uploaded_lines(response.questionnaire.resume_text)
    return _improved_lines(improved_markdown(response, side if isinstance(side, int) else None))


def ai_response_diff(*, response: AIResponse, before: int | str = UPLOAD, after: int | str | None = None) -> dict:
    """The diff of a finished response (409 while it has no improved CV): from ``before`` to ``after``, each a
    version number or ``"upload"`` (the uploaded CV's text); by default from the upload to the latest
    version. A version the response does not have is a 404."""
    return line_diff(_side_lines(response, before), _side_lines(response, after))
