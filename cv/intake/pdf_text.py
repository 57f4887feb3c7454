"""Validate an uploaded CV and extract its text.

Every refusal raises ``CVFileError`` with a message written for the person who uploaded the file, and a
machine ``code``. The checks look at the content, never at the file name: a PNG renamed to ``.pdf`` is
refused, a PDF called ``cv.bin`` is accepted.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)

# The PDF specification lets readers accept a header anywhere in the first 1024 bytes.
_HEADER_WINDOW = 1024
_EOF_WINDOW = 2048
# Fewer letters than this across the whole document means there is no usable text layer.
_MIN_LETTERS = 40
# Extraction stops past this many characters: a CV is a few pages, and a hostile PDF can hold megabytes of text.
MAX_TEXT_CHARS = 100_000
# Address space for the parsing child; a decompression bomb hits this instead of the machine's memory. A
# 20-page CV needs well under 200 MB.
_CHILD_MEMORY_BYTES = 512 * 1024 * 1024
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_BULLET_ONLY_LINE = re.compile(r"^[\s\u2022\u25cf\u25aa\u2023\u2043\u2219\-\*\u00b7]*$")


class CVFileError(Exception):
    """An uploaded CV was refused; ``message`` can be shown to the person as is.

    ``parsed`` is False for the refusals decided before any parsing (too large, empty, not a PDF): those cost
    the service nothing, so they cost the person no upload unit either.
    """

    def __init__(self, message: str, code: str, *, parsed: bool = True):
        super().__init__(message)
        self.message = message
        self.code = code
        self.parsed = parsed


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
    return CVFileError(f"The file is too large: the limit is {limit}.", "too_large", parsed=False)


def _clean_text(raw: str) -> str:
    # PostgreSQL text columns cannot hold NUL characters, and some PDFs contain them.
    raw = raw.replace("\x00", "")
    lines: list[str] = []
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
    upload: IO[bytes] | bytes,
    *,
    max_bytes: int | None = None,
    max_pages: int | None = None,
    timeout: float | None = None,
) -> tuple[str, int]:
    """Check that ``upload`` is a readable, unencrypted PDF CV with text, and return (text, page_count).

    Limits default to ``settings.CV_MAX_UPLOAD_BYTES``, ``settings.CV_MAX_PAGES`` and
    ``settings.CV_EXTRACT_TIMEOUT`` (seconds). The PDF is parsed in a child process with CPU-time and
    memory limits: a small hostile PDF can hold millions of drawing operators or a decompression bomb, and
    must not hold a web worker for minutes.
    """
    if max_bytes is None or max_pages is None or timeout is None:
        from django.conf import settings

        max_bytes = settings.CV_MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
        max_pages = settings.CV_MAX_PAGES if max_pages is None else max_pages
        timeout = settings.CV_EXTRACT_TIMEOUT if timeout is None else timeout

    data = _read_limited(upload, max_bytes)
    if not data.strip():
        raise CVFileError("The file is empty. Please upload your CV as a PDF.", "empty_file", parsed=False)
    if b"%PDF-" not in data[:_HEADER_WINDOW]:
        raise CVFileError(
            "This file is not a PDF (its content is of another type, whatever its name). "
            "Please export or save your CV as a PDF and upload that.",
            "not_pdf",
            parsed=False,
        )
    return _parse_isolated(data, max_pages=max_pages, timeout=timeout)


def _too_complex() -> CVFileError:
    return CVFileError(
        "This PDF is too complex to read (it took too long or needed too much memory). Please export your "
        "CV again as a simple PDF and upload that.",
        "too_complex",
    )


def _parse_isolated(data: bytes, *, max_pages: int, timeout: float) -> tuple[str, int]:
    return parse_in_child("cv.intake.pdf_text", data, max_pages=max_pages, timeout=timeout, too_complex=_too_complex)


def parse_in_child(
    module: str, data: bytes, *, max_pages: int, timeout: float, too_complex: Callable[[], CVFileError]
) -> tuple[str, int]:
    """Run ``python -m module <max_pages> <cpu seconds>`` on ``data`` and return its (text, pages).

    The module's ``_child_main`` reads the file from stdin under CPU and memory limits and prints one JSON
    object: ``{"text", "pages"}`` or ``{"code", "message"}`` (a CVFileError). A child that runs out of time,
    is killed by a limit or crashes means the file cannot be read safely: ``too_complex()``.
    """
    cpu_seconds = max(int(timeout), 1)
    try:
        # Our own interpreter and module, no shell: the file travels on stdin, never in argv.
        child = subprocess.run(
            [sys.executable, "-m", module, str(max_pages), str(cpu_seconds)],
            input=data,
            capture_output=True,
            timeout=timeout,
            cwd=_PROJECT_ROOT,
            # Nothing from the parent's environment (secrets included) is needed to parse a file.
            env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(_PROJECT_ROOT), "LC_ALL": "C.UTF-8"},
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        logger.info("cv upload refused: %s took longer than %ss", module, timeout)
        raise too_complex() from exc
    try:
        result = json.loads(child.stdout)
    except ValueError:
        result = None
    if child.returncode != 0 or not isinstance(result, dict):
        logger.info("cv upload refused: %s exited with %s", module, child.returncode)
        raise too_complex()
    if "code" in result:
        raise CVFileError(result["message"], result["code"])
    return result["text"], result["pages"]


def _parse(data: bytes, *, max_pages: int) -> tuple[str, int]:
    """The pypdf part of the checks (runs in the child process)."""
    import pypdf

    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except MemoryError:
        raise
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
    except MemoryError:
        raise
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
    except MemoryError:
        raise
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


def child_main(argv: list[str], parse: Callable[..., tuple[str, int]], *, memory_bytes: int) -> int:
    """The child side of ``parse_in_child``: limit CPU and memory, parse stdin, print the result as JSON."""
    import resource

    max_pages, cpu_seconds = int(argv[0]), int(argv[1])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    data = sys.stdin.buffer.read()
    try:
        text, pages = parse(data, max_pages=max_pages)
        result: dict = {"text": text, "pages": pages}
    except CVFileError as exc:
        result = {"code": exc.code, "message": exc.message}
    except MemoryError:
        return 3
    sys.stdout.write(json.dumps(result))
    return 0


def _child_main(argv: list[str]) -> int:
    """``python -m cv.intake.pdf_text MAX_PAGES CPU_SECONDS`` < file.pdf: print the result as JSON."""
    return child_main(argv, _parse, memory_bytes=_CHILD_MEMORY_BYTES)


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
