"""A CV in Markdown read into a flat list of blocks (headings, paragraphs, list items, tables).

Every export reads the same structure, so the Word file, the plain text and the JSON Resume carry the
same content and headings as the PDF; the PDF renderer uses the same Markdown parser (``markdown_parser``).
The Markdown comes from a language model and is untrusted: raw HTML is never interpreted (it stays text)
and images become their alt text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import groupby

from django.conf import settings
from markdown_it import MarkdownIt
from markdown_it.token import Token


def max_markdown_chars() -> int:
    """A CV is a few pages, and the time to parse and export grows with the length: what is parsed is cut at
    the one bound of a CV's text, of the model's answer and of an edit (CV_MAX_TEXT_CHARS)."""
    return settings.CV_MAX_TEXT_CHARS


def markdown_parser() -> MarkdownIt:
    """CommonMark with tables and strikethrough, raw HTML disabled (shown as text, never as markup)."""
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


_PARSER = markdown_parser()
# What XML 1.0 cannot hold (C0 controls other than tab, newline and carriage return; surrogates; U+FFFE and
# U+FFFF): a Word file refuses them, and a reader has no use for them in any format.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML cannot hold."""
    return _NOT_XML.sub("", text)


@dataclass(frozen=True)
class Run:
    """A stretch of text with one look."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    link: str | None = None


@dataclass
class Block:
    """One block of the CV. ``kind`` is heading, paragraph, bullet, numbered, quote, code, table or rule.

    ``level`` is the heading level (1-6) or the list depth (0 for a top-level item); ``number`` the item's
    number in an ordered list; ``rows`` the cells of a table (first row the header), as plain text.
    """

    kind: str
    runs: list[Run] = field(default_factory=list)
    level: int = 0
    number: int | None = None
    rows: list[list[str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        if self.kind == "table":
            return "\n".join(" | ".join(row) for row in self.rows)
        return "".join(run.text for run in self.runs).strip()


def _inline_runs(token: Token) -> list[Run]:
    runs: list[Run] = []
    bold = italic = 0
    link: list[str | None] = []
    for child in token.children or []:
        kind = child.type
        if kind == "strong_open":
            bold += 1
        elif kind == "strong_close":
            bold = max(bold - 1, 0)
        elif kind == "em_open":
            italic += 1
        elif kind == "em_close":
            italic = max(italic - 1, 0)
        elif kind == "link_open":
            link.append(str(child.attrs.get("href") or "") or None)
        elif kind == "link_close":
            if link:
                link.pop()
        elif kind in ("text", "code_inline", "html_inline"):
            runs.append(
                Run(
                    child.content,
                    bold=bold > 0,
                    italic=italic > 0,
                    code=kind == "code_inline",
                    link=link[-1] if link else None,
                )
            )
        elif kind == "image":
            alt = "".join(grandchild.content for grandchild in child.children or [])
            if alt:
                runs.append(Run(alt, bold=bold > 0, italic=italic > 0))
        elif kind in ("softbreak", "hardbreak"):
            runs.append(Run(" " if kind == "softbreak" else "\n"))
    return _merged(runs)


def _merged(runs: list[Run]) -> list[Run]:
    """Neighbouring runs with the same look become one (markdown-it splits text at every special character).

    Joined once per group: adding each run's text to the last one copied the growing text every time."""
    merged: list[Run] = []
    for look, group in groupby(runs, key=lambda run: (run.bold, run.italic, run.code, run.link)):
        same = list(group)
        merged.append(same[0] if len(same) == 1 else Run("".join(run.text for run in same), *look))
    return merged


def _plain(token: Token) -> str:
    return "".join(run.text for run in _inline_runs(token)).strip()


def parse(markdown: str) -> list[Block]:
    """The blocks of ``markdown`` in reading order. Input past max_markdown_chars() is cut off."""
    tokens = _PARSER.parse((markdown or "")[: max_markdown_chars()])
    blocks: list[Block] = []
    # One entry per open list: (ordered, next number); and per open item: whether its first paragraph was read.
    lists: list[list] = []
    items: list[bool] = []
    quote_depth = 0
    heading_level = 0
    table: list[list[str]] | None = None
    row: list[str] | None = None
    for token in tokens:
        kind = token.type
        if kind == "heading_open":
            heading_level = int(token.tag[1])
        elif kind == "heading_close":
            heading_level = 0
        elif kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrs.get("start") or 1) if kind == "ordered_list_open" else None
            lists.append([kind == "ordered_list_open", start])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            if lists:
                lists.pop()
        elif kind == "list_item_open":
            items.append(False)
        elif kind == "list_item_close":
            if items:
                items.pop()
            if lists and lists[-1][0]:
                lists[-1][1] += 1
        elif kind == "blockquote_open":
            quote_depth += 1
        elif kind == "blockquote_close":
            quote_depth = max(quote_depth - 1, 0)
        elif kind == "table_open":
            table = []
        elif kind == "table_close":
            if table:
                blocks.append(Block("table", rows=table))
            table = None
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close":
            if table is not None and row is not None:
                table.append(row)
            row = None
        elif kind == "inline":
            if row is not None:
                row.append(_plain(token))
            elif heading_level:
                blocks.append(Block("heading", _inline_runs(token), level=heading_level))
            elif items and not items[-1]:
                items[-1] = True
                ordered, number = lists[-1] if lists else (False, None)
                blocks.append(
                    Block(
                        "numbered" if ordered else "bullet",
                        _inline_runs(token),
                        level=max(len(lists) - 1, 0),
                        number=number if ordered else None,
                    )
                )
            else:
                blocks.append(Block("quote" if quote_depth else "paragraph", _inline_runs(token)))
        elif kind in ("fence", "code_block"):
            blocks.append(Block("code", [Run(token.content.rstrip("\n"), code=True)]))
        elif kind == "hr":
            blocks.append(Block("rule"))
    return [block for block in blocks if block.kind in ("rule", "table") or block.text]


def _run_text(run: Run) -> str:
    text = run.text
    if run.link and not run.link.startswith("mailto:"):
        bare = re.sub(r"^https?://(www\.)?", "", run.link).rstrip("/")
        if bare.casefold() != re.sub(r"^(www\.)?", "", text.strip()).rstrip("/").casefold():
            text = f"{text} ({run.link})"
    return text


def block_plain_text(block: Block) -> str:
    """The words of a block as a reader sees them, links spelled out, without Markdown markers."""
    if block.kind == "table":
        return block.text
    return re.sub(r"[ \t]+", " ", "".join(_run_text(run) for run in block.runs)).strip()


def to_plain_text(blocks: list[Block]) -> str:
    """Plain text for a reader or a text-only form: headings underlined, bullets as "- ", tables as rows."""
    out: list[str] = []
    previous_was_item = False
    for block in blocks:
        text = block_plain_text(block)
        is_item = block.kind in ("bullet", "numbered")
        if block.kind == "heading":
            out += ["", text]
            if block.level <= 2:
                out.append(("=" if block.level == 1 else "-") * min(len(text), 80))
        elif block.kind in ("bullet", "numbered"):
            if out and not previous_was_item:
                out.append("")
            marker = "-" if block.kind == "bullet" else f"{block.number}."
            out.append(f"{'  ' * block.level}{marker} {text}")
        elif block.kind == "rule":
            out += ["", "-" * 40]
        elif block.kind == "quote":
            out += ["", "\n".join(f"> {line}" for line in text.splitlines())]
        elif block.kind == "table":
            out += ["", text]
        else:
            out += ["", text]
        previous_was_item = is_item
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip() + "\n"
