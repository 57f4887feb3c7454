"""Validate an uploaded Word CV (.docx) and extract its text; and pick the reader for an upload by content.

A .docx is a zip archive, and a hostile one can be a zip bomb (a few kilobytes that inflate to gigabytes),
carry macros, or be something else with a .docx name. So, before anything is inflated, the archive's central
directory is checked (entry count, total declared size, compression ratio, macro parts, the parts a Word
document must have and their declared content types); then every part is inflated with the same limits
counted on the bytes actually produced (a central directory can lie), in a child process with CPU-time and
memory limits like the PDF parser's. Refusals are ``CVFileError``s with a message for the person.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import zipfile
from typing import IO

from lxml import etree

from cv.intake.pdf_text import MAX_TEXT_CHARS, CVFileError, child_main, extract_cv_text, parse_in_child

logger = logging.getLogger(__name__)

ZIP_MAGIC = b"PK\x03\x04"
# Compound File Binary: the old .doc format, and also what Word writes for a password-protected .docx.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
DOCX_MAIN_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
DOCX_EXTENSION = "docx"

# A real CV's .docx inflates to well under a few megabytes of XML plus its pictures.
MAX_UNCOMPRESSED_BYTES = 40 * 1024 * 1024
MAX_ENTRIES = 1000
# XML compresses about 5-20x; a ratio far beyond that is a bomb. Tiny parts are exempt (their ratio means nothing).
MAX_COMPRESSION_RATIO = 100
_RATIO_EXEMPT_BYTES = 1024 * 1024
_CONTENT_TYPES_LIMIT = 1024 * 1024
_READ_CHUNK = 64 * 1024
_MIN_LETTERS = 40
_WORDS_PER_PAGE = 500
_CHILD_MEMORY_BYTES = 1024 * 1024 * 1024
_MACRO_PART = re.compile(r"(^|/)vba(Project\.bin|Data\.xml|ProjectSignature\.bin)$", re.IGNORECASE)
_MACRO_CONTENT_TYPE = re.compile(r"macroEnabled|vbaProject|ms-office\.activeX", re.IGNORECASE)
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _refuse(code: str, message: str, *, parsed: bool = True) -> CVFileError:
    return CVFileError(message, code, parsed=parsed)


def _not_word() -> CVFileError:
    return _refuse(
        "not_docx",
        "This file is not a Word document: it is a zip archive without the parts of a .docx. Please save your "
        "CV from Word (or LibreOffice, Google Docs) as .docx or PDF and upload that.",
    )


def _bomb() -> CVFileError:
    return _refuse(
        "docx_too_large_uncompressed",
        "This Word file unpacks to far more data than a CV holds (it looks like a zip bomb), so it was not "
        "opened. Please save your CV again as .docx or PDF and upload that.",
    )


def _macros() -> CVFileError:
    return _refuse(
        "docx_macros",
        "This Word file contains macros (a .docm or macro-enabled document). For your safety and ours we only "
        "accept documents without macros: save it as a plain Word Document (.docx) or as PDF and upload that.",
    )


def _damaged() -> CVFileError:
    return _refuse(
        "damaged",
        "This Word file is damaged and cannot be read. Please save it again as .docx or PDF and upload the new file.",
    )


def _read_limited(upload: IO[bytes] | bytes, max_bytes: int) -> bytes:
    if isinstance(upload, bytes | bytearray):
        data = bytes(upload)
    else:
        upload.seek(0)
        # One byte past the limit, so an upload whose declared size is wrong is still caught.
        data = upload.read(max_bytes + 1)
        upload.seek(0)
    if len(data) > max_bytes:
        raise _refuse(
            "too_large", f"The file is too large: the limit is {max_bytes / (1024 * 1024):g} MB.", parsed=False
        )
    return data


def _check_directory(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Refuse from the central directory alone, before one byte is inflated."""
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        raise _bomb()
    names = {entry.filename for entry in entries}
    if any(_MACRO_PART.search(name) for name in names):
        raise _macros()
    if any(entry.flag_bits & 0x1 for entry in entries):
        raise _refuse(
            "encrypted",
            "This Word file is password-protected. Please upload a copy without a password (or a PDF).",
        )
    total = sum(entry.file_size for entry in entries)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise _bomb()
    for entry in entries:
        if entry.file_size > _RATIO_EXEMPT_BYTES and entry.file_size > MAX_COMPRESSION_RATIO * max(
            entry.compress_size, 1
        ):
            raise _bomb()
    if "[Content_Types].xml" not in names or "word/document.xml" not in names:
        raise _not_word()
    return entries


def _inflate(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: int) -> bytes:
    """One part's bytes, stopping as soon as the real output passes what its header declared or the budget."""
    limit = min(entry.file_size, budget)
    parts: list[bytes] = []
    produced = 0
    with archive.open(entry) as stream:
        while True:
            chunk = stream.read(_READ_CHUNK)
            if not chunk:
                break
            produced += len(chunk)
            if produced > limit:
                raise _bomb()
            parts.append(chunk)
    return b"".join(parts)


def _check_content_types(raw: bytes) -> None:
    try:
        # Content types are declarations, never entities or DTDs: refuse those outright rather than expand them.
        if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
            raise _damaged()
        root = etree.fromstring(raw, parser=_SAFE_XML)
    except etree.XMLSyntaxError as exc:
        raise _damaged() from exc
    declared = {
        (element.get("PartName") or element.get("Extension") or "").lstrip("/").casefold(): element.get(
            "ContentType", ""
        )
        for element in root
        if element.tag in (f"{_CT_NS}Override", f"{_CT_NS}Default")
    }
    if any(_MACRO_CONTENT_TYPE.search(value) for value in declared.values()):
        raise _macros()
    if declared.get("word/document.xml") != DOCX_MAIN_CONTENT_TYPE:
        raise _not_word()


def check_container(data: bytes) -> None:
    """The checks that need no inflating beyond [Content_Types].xml (run in the web process, fast)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _damaged() from exc
    with archive:
        entries = _check_directory(archive)
        content_types = next(entry for entry in entries if entry.filename == "[Content_Types].xml")
        if content_types.file_size > _CONTENT_TYPES_LIMIT:
            raise _bomb()
        try:
            raw = _inflate(archive, content_types, _CONTENT_TYPES_LIMIT)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as exc:
            raise _damaged() from exc
        _check_content_types(raw)


def _verified_copy(data: bytes) -> bytes:
    """The archive re-written from bytes we inflated ourselves under the limits: python-docx reads only this."""
    out = io.BytesIO()
    budget = MAX_UNCOMPRESSED_BYTES
    with zipfile.ZipFile(io.BytesIO(data)) as archive, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as copy:
        for entry in _check_directory(archive):
            if entry.is_dir():
                continue
            content = _inflate(archive, entry, budget)
            budget -= len(content)
            copy.writestr(entry.filename, content)
    return out.getvalue()


def _paragraphs_text(container) -> list[str]:
    from docx.table import Table

    lines: list[str] = []
    for item in container.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                cells: list[str] = []
                for cell in row.cells:
                    text = " ".join(cell.text.split())
                    # A merged cell is reported once per grid column it spans.
                    if text and (not cells or cells[-1] != text):
                        cells.append(text)
                if cells:
                    lines.append(" | ".join(cells))
        else:
            lines.append(item.text.strip())
        if sum(len(line) for line in lines) > MAX_TEXT_CHARS:
            break
    return lines


def _pages_declared(archive_bytes: bytes) -> int | None:
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as archive:
        try:
            raw = archive.read("docProps/app.xml")
        except KeyError:
            return None
    match = re.search(rb"<(?:\w+:)?Pages>(\d{1,5})</", raw)
    return int(match.group(1)) if match else None


def _parse(data: bytes, *, max_pages: int) -> tuple[str, int]:
    """Inflate under the limits and read the text with python-docx (runs in the child process)."""
    import docx

    try:
        verified = _verified_copy(data)
    except CVFileError:
        raise
    except Exception as exc:
        logger.info("docx upload refused: unreadable archive (%s)", type(exc).__name__)
        raise _damaged() from exc
    try:
        document = docx.Document(io.BytesIO(verified))
        lines: list[str] = []
        # Many CVs keep the name and contact details in the page header.
        for section in document.sections[:1]:
            lines += _paragraphs_text(section.header)
        lines += _paragraphs_text(document)
    except MemoryError:
        raise
    except Exception as exc:
        logger.info("docx upload refused: python-docx could not read it (%s)", type(exc).__name__)
        raise _damaged() from exc

    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines).replace("\x00", "")).strip()[:MAX_TEXT_CHARS]
    if sum(ch.isalpha() for ch in text) < _MIN_LETTERS:
        raise _refuse(
            "no_text",
            "We could not find any text in this Word file: it is empty or holds only pictures. Please upload "
            "the document with your CV's text in it.",
        )
    pages = _pages_declared(verified) or max(1, -(-len(text.split()) // _WORDS_PER_PAGE))
    if pages > max_pages:
        raise _refuse("too_many_pages", f"This document has {pages} pages; a CV may have at most {max_pages}.")
    return text, pages


def _too_complex() -> CVFileError:
    return _refuse(
        "too_complex",
        "This Word file is too complex to read (it took too long or needed too much memory). Please save your "
        "CV again as a simple .docx or PDF and upload that.",
    )


def extract_docx_text(
    upload: IO[bytes] | bytes,
    *,
    max_bytes: int | None = None,
    max_pages: int | None = None,
    timeout: float | None = None,
) -> tuple[str, int]:
    """Check that ``upload`` is a macro-free, unencrypted .docx CV with text; return (text, page count).

    The page count is the one Word saved in the file, or an estimate from the number of words.
    """
    from django.conf import settings

    max_bytes = settings.CV_MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    max_pages = settings.CV_MAX_PAGES if max_pages is None else max_pages
    timeout = settings.CV_EXTRACT_TIMEOUT if timeout is None else timeout
    data = _read_limited(upload, max_bytes)
    if not data.startswith(ZIP_MAGIC):
        raise _not_word()
    check_container(data)
    return parse_in_child("cv.intake.docx_text", data, max_pages=max_pages, timeout=timeout, too_complex=_too_complex)


def _head(upload: IO[bytes] | bytes, size: int = 1024) -> bytes:
    if isinstance(upload, bytes | bytearray):
        return bytes(upload[:size])
    upload.seek(0)
    head = upload.read(size)
    upload.seek(0)
    return head


def resume_kind(upload: IO[bytes] | bytes) -> str:
    """What an upload is by its first bytes, whatever its name: "docx" (a zip), "ole" (.doc or an encrypted
    .docx), "pdf" (a PDF header, or an empty file: the PDF reader has the message for that) or "other"."""
    head = _head(upload)
    if head.startswith(ZIP_MAGIC):
        return "docx"
    if head.startswith(OLE_MAGIC):
        return "ole"
    if b"%PDF-" in head or not head.strip():
        return "pdf"
    return "other"


def extract_resume_text(upload: IO[bytes] | bytes) -> tuple[str, int, str]:
    """The text, page count and file extension of an uploaded CV, a PDF or a Word (.docx) file."""
    kind = resume_kind(upload)
    if kind == "docx":
        text, pages = extract_docx_text(upload)
        return text, pages, DOCX_EXTENSION
    if kind == "ole":
        raise _refuse(
            "doc_or_encrypted",
            "This is an old-format Word file (.doc) or a password-protected Word document, which we cannot "
            "read. Please save your CV as .docx (without a password) or as PDF and upload that.",
            parsed=False,
        )
    if kind == "other":
        raise _refuse(
            "not_pdf",
            "This file is not a PDF or a Word document (its content is of another type, whatever its name). "
            "Please save or export your CV as PDF or .docx and upload that.",
            parsed=False,
        )
    text, pages = extract_cv_text(upload)
    return text, pages, "pdf"


def _child_main(argv: list[str]) -> int:
    """``python -m cv.intake.docx_text MAX_PAGES CPU_SECONDS`` < file.docx: print the result as JSON."""
    return child_main(argv, _parse, memory_bytes=_CHILD_MEMORY_BYTES)


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
