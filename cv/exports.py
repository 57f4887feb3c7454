"""The improved CV in other formats: Markdown, plain text, Word (.docx) and JSON Resume.

Every format is built from the same Markdown as the PDF (the CV part of the response, never the offline
analyser's review), read once into ``cv.cv_document`` blocks.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import docx
from django.conf import settings
from django.utils import timezone
from django.utils.text import slugify
from docx.enum.text import WD_COLOR_INDEX
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

from core.exceptions import Conflict, DomainError
from cv import jsonresume
from cv.cv_document import MAX_MARKDOWN_CHARS, Block, Run, parse, to_plain_text, xml_safe
from cv.models import AIResponse
from cv.selectors import cv_markdown_of

DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FORMATS = {
    "md": "text/markdown; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "docx": DOCX_CONTENT_TYPE,
    "json": "application/json",
}


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


def improved_markdown(response: AIResponse) -> str:
    """The improved CV of a finished response; refuses (409) one that has none yet."""
    markdown = cv_markdown_of(response) if response.status == AIResponse.Status.SUCCEEDED else ""
    if not (markdown or "").strip():
        raise AIResponseNotReady(status=response.status)
    if len(markdown) > MAX_MARKDOWN_CHARS:
        raise CVTooLarge()
    return markdown


def _filename(response: AIResponse, blocks: list[Block], extension: str) -> str:
    name = next((block.text for block in blocks if block.kind == "heading"), "")
    position = getattr(response.questionnaire, "position", "") or ""
    stem = "-".join(part for part in (slugify(name)[:40], slugify(position)[:40]) if part)
    return f"cv-{stem or response.pk}.{extension}"


def export_ai_response(*, response: AIResponse, fmt: str) -> Export:
    """The improved CV of ``response`` as a file in ``fmt`` (a key of FORMATS), without the characters a file
    format cannot hold (a control character in an answer made the Word export fail)."""
    markdown = xml_safe(improved_markdown(response))
    blocks = parse(markdown)
    if fmt == "md":
        content = markdown.strip().encode() + b"\n"
    elif fmt == "txt":
        content = to_plain_text(blocks).encode()
    elif fmt == "docx":
        content = docx_from_blocks(blocks, title=next((b.text for b in blocks if b.kind == "heading"), "CV"))
    elif fmt == "json":
        modified = (response.finished_at or timezone.now()).strftime("%Y-%m-%dT%H:%M:%S")
        resume = jsonresume.to_json_resume(markdown, last_modified=modified)
        content = json.dumps(resume, ensure_ascii=False, indent=2).encode() + b"\n"
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    return Export(content=content, filename=_filename(response, blocks, fmt), content_type=FORMATS[fmt])


def _add_hyperlink(paragraph, url: str, run: Run) -> None:
    """A real, clickable Word hyperlink (python-docx has no public API for one)."""
    relationship = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
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


def _add_runs(paragraph, runs: list[Run]) -> None:
    for run in runs:
        if run.link and run.link.startswith(("http://", "https://", "mailto:")):
            _add_hyperlink(paragraph, run.link, run)
            continue
        for index, line in enumerate(run.text.split("\n")):
            if index:
                paragraph.add_run().add_break()
            if not line:
                continue
            added = paragraph.add_run(line)
            added.bold = run.bold or None
            added.italic = run.italic or None
            if run.code:
                added.font.name = "Courier New"
                added.font.highlight_color = WD_COLOR_INDEX.GRAY_25


def _list_style(block: Block) -> str:
    base = "List Bullet" if block.kind == "bullet" else "List Number"
    return base if block.level == 0 else f"{base} {min(block.level + 1, 3)}"


def _add_table(document, rows: list[list[str]]) -> None:
    """A Word table of ``rows`` (the first one the header, in bold), within the table bounds of a CV.

    Filled row by row through each row's own cells: ``Table.cell()`` rebuilds the list of every cell of the
    table on each call, which made a 12-column, 150-row table take a minute.
    """
    rows = rows[: settings.CV_MAX_TABLE_ROWS]
    columns = min(max(len(row) for row in rows), settings.CV_MAX_TABLE_COLUMNS)
    table = document.add_table(rows=len(rows), cols=columns)
    table.style = document.styles["Table Grid"]
    for row_index, (row, values) in enumerate(zip(table.rows, rows, strict=True)):
        for cell, value in zip(row.cells, values[:columns], strict=False):
            cell.text = value
            if row_index == 0:
                for run in cell.paragraphs[0].runs:
                    run.bold = True


def docx_from_blocks(blocks: list[Block], *, title: str) -> bytes:
    """A Word document with real heading, list and table structure, so it stays editable and ATS-readable."""
    document = docx.Document()
    document.core_properties.title = title[:200]
    document.core_properties.author = title[:200]
    normal = document.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10.5)
    # python-docx looks a style up by scanning every style of the document, for every paragraph: a long CV
    # took seconds. Each style's id is looked up once and set on the paragraph's XML directly.
    style_ids: dict[str, str] = {}

    def styled(name: str):
        if name not in style_ids:
            style_ids[name] = document.styles[name].style_id
        paragraph = document.add_paragraph()
        paragraph._p.style = style_ids[name]
        return paragraph

    for block in blocks:
        if block.kind == "heading":
            _add_runs(styled(f"Heading {min(block.level, 9)}"), block.runs)
        elif block.kind in ("bullet", "numbered"):
            _add_runs(styled(_list_style(block)), block.runs)
        elif block.kind == "quote":
            _add_runs(styled("Quote"), block.runs)
        elif block.kind == "code":
            _add_runs(document.add_paragraph(), block.runs)
        elif block.kind == "table":
            _add_table(document, block.rows)
            document.add_paragraph()
        elif block.kind == "rule":
            document.add_paragraph()
        else:
            _add_runs(document.add_paragraph(), block.runs)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
