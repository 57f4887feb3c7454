"""The improved CV in other formats: Markdown, plain text, Word (.docx) and JSON Resume.

Every format is built from the same Markdown as the PDF (the CV part of the response, never the offline
analyser's review), read once into ``cv.text.cv_document`` blocks.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass

import docx
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.text import slugify
from docx.enum.text import WD_COLOR_INDEX
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.table import CT_Tbl
from docx.shared import Pt
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

from core.exceptions import Conflict, DomainError
from cv.models import AIResponse
from cv.outputs import jsonresume
from cv.text.cv_document import Block, Run, max_markdown_chars, parse, to_plain_text, xml_safe
from cv.versions.services import cv_markdown_of

DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FORMATS = {
    "md": "text/markdown; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "docx": DOCX_CONTENT_TYPE,
    "json": "application/json",
}
# An export is cached by its content (format, Markdown and, for JSON Resume, the date it carries); change the
# version when the files built from the same Markdown change.
EXPORT_CACHE_VERSION = 1
EXPORT_CACHE_SECONDS = 24 * 3600
_W_R, _W_RPR, _W_T, _W_BR, _W_B, _W_I = qn("w:r"), qn("w:rPr"), qn("w:t"), qn("w:br"), qn("w:b"), qn("w:i")
_W_RFONTS, _W_HIGHLIGHT, _W_ASCII, _W_HANSI, _W_VAL = (
    qn("w:rFonts"),
    qn("w:highlight"),
    qn("w:ascii"),
    qn("w:hAnsi"),
    qn("w:val"),
)
_XML_SPACE = qn("xml:space")


class AIResponseNotReady(Conflict):
    default_code = "ai_response_not_ready"
    default_detail = "This AI response has not finished successfully, so there is no improved CV yet."


class CVTooLarge(DomainError):
    status_code = 422
    default_code = "cv_too_large"
    default_detail = "This improved CV is too long to export."


@dataclass(frozen=True)
class Export:
    content: bytes
    filename: str
    content_type: str


def improved_markdown(response: AIResponse, version: int | None = None) -> str:
    """The improved CV of a finished response, of its latest version or of ``version`` (404 when it has no
    such version); refuses (409) one that has none yet."""
    markdown = cv_markdown_of(response, version) if response.status == AIResponse.Status.SUCCEEDED else ""
    if not (markdown or "").strip():
        raise AIResponseNotReady(status=response.status)
    if len(markdown) > max_markdown_chars():
        raise CVTooLarge()
    return markdown


def _filename(response: AIResponse, name: str, extension: str) -> str:
    position = getattr(response.questionnaire, "position", "") or ""
    stem = "-".join(part for part in (slugify(name)[:40], slugify(position)[:40]) if part)
    return f"cv-{stem or response.pk}.{extension}"


def _built(markdown: str, fmt: str, modified: str) -> tuple[bytes, str]:
    """The file's content in ``fmt`` and the CV's first heading (its name)."""
    blocks = parse(markdown)
    name = next((block.text for block in blocks if block.kind == "heading"), "")
    if fmt == "md":
        content = markdown.strip().encode() + b"\n"
    elif fmt == "txt":
        content = to_plain_text(blocks).encode()
    elif fmt == "docx":
        content = docx_from_blocks(blocks, title=name or "CV")
    elif fmt == "json":
        resume = jsonresume.to_json_resume(markdown, last_modified=modified)
        content = json.dumps(resume, ensure_ascii=False, indent=2).encode() + b"\n"
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    return content, name


def export_ai_response(*, response: AIResponse, fmt: str, version: int | None = None) -> Export:
    """The improved CV of ``response`` as a file in ``fmt`` (a key of FORMATS), without the characters a file
    format cannot hold (a control character in an answer made the Word export fail).

    Cached by content: building the largest Word file takes about a second, and asking for it again (or for
    the same CV from another response or version) must not cost that again. Without the cache (Redis down)
    it is built. ``version``: that version of the improved CV (cv.versions.services), else the latest.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    markdown = xml_safe(improved_markdown(response, version))
    modified = (response.finished_at or timezone.now()).strftime("%Y-%m-%dT%H:%M:%S") if fmt == "json" else ""
    digest = hashlib.sha256(f"{fmt}\0{modified}\0{markdown}".encode()).hexdigest()
    key = f"cv:export:{EXPORT_CACHE_VERSION}:{digest}"
    cached = cache.get(key)
    if cached is None:
        cached = _built(markdown, fmt, modified)
        cache.set(key, cached, EXPORT_CACHE_SECONDS)
    content, name = cached
    return Export(content=content, filename=_filename(response, name, fmt), content_type=FORMATS[fmt])


def _add_hyperlink(paragraph, relationship: str, run: Run) -> None:
    """A real, clickable Word hyperlink (python-docx has no public API for one) to the relationship's URL."""
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), relationship)
    element = OxmlElement("w:r")
    properties = OxmlElement("w:rPr")
    style = OxmlElement("w:rStyle")
    style.set(qn("w:val"), "Hyperlink")
    properties.append(style)
    for flag, on in (("w:b", run.bold), ("w:i", run.italic)):
        if on:
            properties.append(OxmlElement(flag))
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    properties.append(underline)
    element.append(properties)
    text = OxmlElement("w:t")
    text.text = run.text
    text.set(qn("xml:space"), "preserve")
    element.append(text)
    link.append(element)
    paragraph._p.append(link)


def _add_runs(writer: _WordWriter, paragraph, runs: list[Run]) -> None:
    for run in runs:
        if run.link and run.link.startswith(("http://", "https://", "mailto:")):
            _add_hyperlink(paragraph, writer.link(run.link), run)
            continue
        for index, line in enumerate(run.text.split("\n")):
            if index:
                etree.SubElement(etree.SubElement(paragraph._p, _W_R), _W_BR)
            if line:
                _add_text_run(paragraph, line, run)


def _add_text_run(paragraph, text: str, run: Run) -> None:
    """A run of ``text`` with the look of ``run``, written as XML: python-docx's add_run and its bold, italic and
    font setters look for their place among the run's elements at each call, several times slower."""
    if "\t" in text:
        # python-docx writes a tab as Word's own tab element.
        added = paragraph.add_run(text)
        added.bold, added.italic = run.bold or None, run.italic or None
        if run.code:
            added.font.name = "Courier New"
            added.font.highlight_color = WD_COLOR_INDEX.GRAY_25
        return
    element = etree.SubElement(paragraph._p, _W_R)
    if run.bold or run.italic or run.code:
        properties = etree.SubElement(element, _W_RPR)
        if run.code:
            etree.SubElement(properties, _W_RFONTS, {_W_ASCII: "Courier New", _W_HANSI: "Courier New"})
        if run.bold:
            etree.SubElement(properties, _W_B)
        if run.italic:
            etree.SubElement(properties, _W_I)
        if run.code:
            etree.SubElement(properties, _W_HIGHLIGHT, {_W_VAL: "lightGray"})
    etree.SubElement(element, _W_T, {_XML_SPACE: "preserve"}).text = text


class _WordWriter:
    """Adds paragraphs, tables and links to a python-docx document, each in constant time.

    python-docx's own ``add_paragraph``/``add_table`` look through every block of the body for the section
    properties they go before, ``relate_to`` through every relationship for a match and a free id, and a style
    is found by scanning every style: once per block or link, that made a CV of 15,000 short bullets take
    seconds. Here the section properties, the styles' ids and the links' ids are found once.
    """

    def __init__(self, document) -> None:
        self.document = document
        self._body = document.element.body
        self._end = self._body.sectPr
        self._width = document._block_width
        self._style_ids: dict[str, str] = {}
        self._links: dict[str, str] = {}
        self._rels = document.part.rels
        self._next_rel = 1

    def _style_id(self, name: str) -> str:
        if name not in self._style_ids:
            self._style_ids[name] = self.document.styles[name].style_id
        return self._style_ids[name]

    def _append(self, element) -> None:
        if self._end is not None:
            self._end.addprevious(element)
        else:
            self._body.append(element)

    def paragraph(self, style: str | None = None) -> Paragraph:
        element = OxmlElement("w:p")
        self._append(element)
        if style:
            element.style = self._style_id(style)
        return Paragraph(element, self.document._body)

    def table(self, rows: int, columns: int, *, style: str) -> Table:
        element = CT_Tbl.new_tbl(rows, columns, self._width)
        self._append(element)
        element.tblStyle_val = self._style_id(style)
        return Table(element, self.document._body)

    def link(self, url: str) -> str:
        """The id of the document's relationship to ``url`` (one per URL)."""
        if url not in self._links:
            while f"rId{self._next_rel}" in self._rels:
                self._next_rel += 1
            relationship = f"rId{self._next_rel}"
            self._rels.add_relationship(RELATIONSHIP_TYPE.HYPERLINK, url, relationship, is_external=True)
            self._links[url] = relationship
        return self._links[url]


def _list_style(block: Block) -> str:
    base = "List Bullet" if block.kind == "bullet" else "List Number"
    return base if block.level == 0 else f"{base} {min(block.level + 1, 3)}"


def _add_table(writer: _WordWriter, rows: list[list[str]]) -> None:
    """A Word table of ``rows`` (the first one the header, in bold), within the table bounds of a CV.

    Filled row by row through each row's own cells: ``Table.cell()`` rebuilds the list of every cell of the
    table on each call, which made a 12-column, 150-row table take a minute.
    """
    rows = rows[: settings.CV_MAX_TABLE_ROWS]
    columns = min(max(len(row) for row in rows), settings.CV_MAX_TABLE_COLUMNS)
    table = writer.table(len(rows), columns, style="Table Grid")
    for row_index, (row, values) in enumerate(zip(table.rows, rows, strict=True)):
        for cell, value in zip(row.cells, values[:columns], strict=False):
            cell.text = value
            if row_index == 0:
                for run in cell.paragraphs[0].runs:
                    run.bold = True


def docx_from_blocks(blocks: list[Block], *, title: str) -> bytes:
    """A Word document with real heading, list and table structure, so it stays editable and ATS-readable.
    Its cost is linear in the blocks (see _WordWriter)."""
    document = docx.Document()
    document.core_properties.title = title[:200]
    document.core_properties.author = title[:200]
    normal = document.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10.5)
    writer = _WordWriter(document)
    for block in blocks:
        if block.kind == "heading":
            _add_runs(writer, writer.paragraph(f"Heading {min(block.level, 9)}"), block.runs)
        elif block.kind in ("bullet", "numbered"):
            _add_runs(writer, writer.paragraph(_list_style(block)), block.runs)
        elif block.kind == "quote":
            _add_runs(writer, writer.paragraph("Quote"), block.runs)
        elif block.kind == "table":
            _add_table(writer, block.rows)
            writer.paragraph()
        elif block.kind == "rule":
            writer.paragraph()
        else:
            _add_runs(writer, writer.paragraph(), block.runs)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
