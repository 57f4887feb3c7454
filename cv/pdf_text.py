"""Validate an uploaded CV and extract its text.

Every refusal raises ``CVFileError`` with a message written for the person who uploaded the file, and a
machine ``code``. The checks look at the content, never at the file name: a PNG renamed to ``.pdf`` is
refused, a PDF called ``cv.bin`` is accepted.
"""

from __future__ import annotations

import io
import logging
import re
from typing import IO

logger = logging.getLogger(__name__)

# The PDF specification lets readers accept a header anywhere in the first 1024 bytes.
_HEADER_WINDOW = 1024
_EOF_WINDOW = 2048
# Fewer letters than this across the whole document means there is no usable text layer.
_MIN_LETTERS = 40
# Extraction stops past this many characters: a CV is a few pages, and a hostile PDF can hold megabytes of text.
MAX_TEXT_CHARS = 100_000
_BULLET_ONLY_LINE = re.compile(r"^[\s\u2022\u25cf\u25aa\u2023\u2043\u2219\-\*\u00b7]*$")


class CVFileError(Exception):
    """An uploaded CV was refused; ``message`` can be shown to the person as is."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def _read_limited(upload: IO[bytes] | bytes, max_bytes: int) -> bytes:
    if isinstance(upload, bytes | bytearray):
        data = bytes(upload)
    else:
        declared = getattr(upload, "size", None)
        if declared is not None and declared > max_bytes:
            raise _too_large(max_bytes)
        if hasattr(upload, "seek"):
            upload.seek(0)
        # Read one byte past the limit so an upload with a wrong declared size is still caught.
        data = upload.read(max_bytes + 1)
        if hasattr(upload, "seek"):
            upload.seek(0)
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return data


def _too_large(max_bytes: int) -> CVFileError:
    megabytes = max_bytes / (1024 * 1024)
    limit = f"{megabytes:g} MB" if megabytes >= 1 else f"{max_bytes} bytes"
    return CVFileError(f"The file is too large: the limit is {limit}.", "too_large")


def _clean_text(raw: str) -> str:
    # PostgreSQL text columns cannot hold NUL characters, and some PDFs contain them.
    raw = raw.replace("\x00", "")
    lines = []
    for line in raw.splitlines():
        line = line.rstrip()
        # Bullet glyphs drawn as separate text objects come out as lines of their own; they carry nothing.
        if _BULLET_ONLY_LINE.match(line):
            if lines and lines[-1] != "":
                lines.append("")
            continue
        lines.append(line)
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def extract_cv_text(
    upload: IO[bytes] | bytes, *, max_bytes: int | None = None, max_pages: int | None = None
) -> tuple[str, int]:
    """Check that ``upload`` is a readable, unencrypted PDF CV with text, and return (text, page_count).

    Limits default to ``settings.CV_MAX_UPLOAD_BYTES`` and ``settings.CV_MAX_PAGES``.
    """
    if max_bytes is None or max_pages is None:
        from django.conf import settings

        max_bytes = settings.CV_MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
        max_pages = settings.CV_MAX_PAGES if max_pages is None else max_pages

    data = _read_limited(upload, max_bytes)
    if not data.strip():
        raise CVFileError("The file is empty. Please upload your CV as a PDF.", "empty_file")
    if b"%PDF-" not in data[:_HEADER_WINDOW]:
        raise CVFileError(
            "This file is not a PDF (its content is of another type, whatever its name). "
            "Please export or save your CV as a PDF and upload that.",
            "not_pdf",
        )

    import pypdf

    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except Exception as exc:
        # pypdf raises many exception types (and sometimes plain ValueError/KeyError/RecursionError) on
        # malformed input; each of them means the same thing to the person uploading.
        logger.info("cv upload refused: unreadable pdf (%s)", type(exc).__name__)
        raise _unreadable(data) from exc

    if encrypted:
        # A file encrypted only to restrict printing or copying opens with an empty password; one that
        # needs a password to open cannot be read by us.
        try:
            opened = reader.decrypt("") != 0
        except Exception:
            opened = False
        if not opened:
            raise CVFileError("This PDF is password-protected. Please upload a copy without a password.", "encrypted")

    try:
        page_count = len(reader.pages)
    except Exception as exc:
        logger.info("cv upload refused: page tree unreadable (%s)", type(exc).__name__)
        raise _unreadable(data) from exc
    if page_count == 0:
        raise CVFileError("This PDF has no pages.", "no_pages")
    if page_count > max_pages:
        raise CVFileError(f"This PDF has {page_count} pages; a CV may have at most {max_pages}.", "too_many_pages")

    parts: list[str] = []
    total = 0
    try:
        for page in reader.pages:
            page_text = page.extract_text() or ""
            parts.append(page_text)
            total += len(page_text)
            if total >= MAX_TEXT_CHARS:
                break
    except Exception as exc:
        logger.info("cv upload refused: text extraction failed (%s)", type(exc).__name__)
        raise _unreadable(data) from exc

    text = _clean_text("\n\n".join(parts))[:MAX_TEXT_CHARS]
    if sum(ch.isalpha() for ch in text) < _MIN_LETTERS:
        raise CVFileError(
            "We could not find any text in this PDF: it looks like a scanned image or a picture of a CV. "
            "Please upload a PDF exported from your word processor (with selectable text), or run it "
            "through OCR first.",
            "no_text",
        )
    return text, page_count


def _unreadable(data: bytes) -> CVFileError:
    if b"%%EOF" not in data[-_EOF_WINDOW:]:
        return CVFileError(
            "This PDF is incomplete: the file seems to have been cut off during download or copy. "
            "Please save it again and upload the full file.",
            "truncated",
        )
    return CVFileError(
        "This PDF is damaged and cannot be read. Please export it again and upload the new file.",
        "damaged",
    )
