import io
import random
from pathlib import Path

import pypdf
import pytest
from django.core.files.uploadedfile import InMemoryUploadedFile

from cv.intake import pdf_text
from cv.intake.pdf_text import CVFileError, extract_cv_text

FIXTURES = Path(__file__).parent / "fixtures"
LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_pages": 20, "timeout": 20}

BAD_FILES = {
    "empty.pdf": ("empty_file", "empty"),
    "encrypted.pdf": ("encrypted", "password-protected"),
    "image_only.pdf": ("no_text", "scanned image"),
    "png_renamed.pdf": ("not_pdf", "not a PDF"),
    "truncated.pdf": ("truncated", "incomplete"),
}


def _refusal(data, **limits):
    with pytest.raises(CVFileError) as info:
        extract_cv_text(data, **{**LIMITS, **limits})
    return info.value


def _pdf_bytes(writer: pypdf.PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_backend_cv_text_is_extracted_with_its_page_count():
    with open(FIXTURES / "jane_doe_backend.pdf", "rb") as upload:
        text, pages = extract_cv_text(upload, **LIMITS)

    assert pages == 1
    assert text.startswith("Jane Doe")
    assert "Django REST Framework" in text
    assert "from 40% to 85%" in text
    # Bullet glyphs extracted as lines of their own are dropped, not kept as noise.
    assert "\u2022" not in text


def test_marketing_cv_text_is_extracted():
    text, pages = extract_cv_text((FIXTURES / "john_smith_marketing.pdf").read_bytes(), **LIMITS)

    assert pages == 1
    assert "John Smith" in text
    assert "Mailchimp" in text


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_each_broken_file_gets_its_own_message(name):
    code, phrase = BAD_FILES[name]

    error = _refusal((FIXTURES / "bad" / name).read_bytes())

    assert error.code == code
    assert phrase in error.message


def test_broken_file_messages_are_all_different():
    messages = {_refusal((FIXTURES / "bad" / name).read_bytes()).message for name in BAD_FILES}

    assert len(messages) == len(BAD_FILES)


def test_scanned_cv_message_says_there_is_no_text_and_invents_none():
    error = _refusal((FIXTURES / "bad" / "image_only.pdf").read_bytes())

    assert "could not find any text" in error.message


def test_pdf_is_recognised_by_content_whatever_its_name():
    upload = io.BytesIO((FIXTURES / "jane_doe_backend.pdf").read_bytes())
    upload.name = "cv.docx"

    text, _ = extract_cv_text(upload, **LIMITS)

    assert "Jane Doe" in text


def test_file_over_the_size_limit_is_refused_before_parsing():
    data = (FIXTURES / "jane_doe_backend.pdf").read_bytes()

    error = _refusal(data, max_bytes=len(data) - 1)

    assert error.code == "too_large"


def test_upload_declaring_a_size_over_the_limit_is_refused():
    upload = InMemoryUploadedFile(
        io.BytesIO(b"%PDF-1.7 tiny"), "resume", "cv.pdf", "application/pdf", size=11 * 1024 * 1024, charset=None
    )

    assert _refusal(upload).code == "too_large"


def test_pdf_with_too_many_pages_is_refused():
    writer = pypdf.PdfWriter()
    for _ in range(3):
        writer.add_blank_page(width=595, height=842)

    error = _refusal(_pdf_bytes(writer), max_pages=2)

    assert error.code == "too_many_pages"
    assert "3 pages" in error.message


def test_pdf_restricted_only_by_an_owner_password_is_read():
    writer = pypdf.PdfWriter(clone_from=FIXTURES / "jane_doe_backend.pdf")
    writer.encrypt(user_password="", owner_password="owner-secret", algorithm="AES-128")

    text, _ = extract_cv_text(_pdf_bytes(writer), **LIMITS)

    assert "Jane Doe" in text


def test_damaged_pdf_with_an_end_marker_is_reported_as_damaged():
    error = _refusal(b"%PDF-1.7\n" + b"\x00garbage" * 50 + b"\n%%EOF\n")

    assert error.code == "damaged"


def test_mangled_pdfs_are_refused_with_a_message_never_another_exception():
    original = (FIXTURES / "jane_doe_backend.pdf").read_bytes()
    rng = random.Random(4)
    variants = [original[:cut] for cut in range(16, len(original), len(original) // 25)]
    for _ in range(25):
        mangled = bytearray(original)
        for _ in range(40):
            mangled[rng.randrange(16, len(mangled))] = rng.randrange(256)
        variants.append(bytes(mangled))

    for data in variants:
        try:
            # In-process: this is about pypdf's exceptions, not about the child process around it.
            text, pages = pdf_text._parse(data, max_pages=20)
        except CVFileError as error:
            assert error.message
        else:
            assert pages >= 1 and "\x00" not in text


def _pdf_with_text_operators(count: int) -> bytes:
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = pypdf.PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    fonts = DictionaryObject({NameObject("/F1"): writer._add_object(font)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    content = DecodedStreamObject()
    content.set_data(b"BT /F1 12 Tf 72 720 Td " + b"(hello world) Tj 0 -1 Td " * count + b"ET")
    page[NameObject("/Contents")] = writer._add_object(content.flate_encode())
    return _pdf_bytes(writer)


def test_pdf_that_takes_too_long_to_parse_is_refused_not_waited_for():
    # A 300 KB file whose one page holds 200,000 text operators: several seconds of pypdf work.
    data = _pdf_with_text_operators(200_000)

    error = _refusal(data, timeout=0.5)

    assert error.code == "too_complex"
    assert "too complex" in error.message


def test_parsing_does_not_see_the_parents_secrets(monkeypatch):
    seen = {}
    real_run = pdf_text.subprocess.run

    def spy(*args, **kwargs):
        seen.update(kwargs["env"])
        return real_run(*args, **kwargs)

    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-secret")
    monkeypatch.setattr(pdf_text.subprocess, "run", spy)

    extract_cv_text((FIXTURES / "jane_doe_backend.pdf").read_bytes(), **LIMITS)

    assert "OPENAI_API_KEY" not in seen
