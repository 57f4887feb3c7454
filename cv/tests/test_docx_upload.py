"""A CV uploaded as a Word file: accepted when it is a real, macro-free .docx; every hostile file gets its own
400 and nothing is stored. The hostile files are built here, byte by byte where needed."""

import io
import struct
import time
import zipfile
from pathlib import Path

import docx
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from cv.intake import docx_text
from cv.intake.pdf_text import CVFileError
from cv.models import CVQuestionnaire

FIXTURES = Path(__file__).parent / "fixtures"
URL = "/cv/questionnaire/"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
JOB = {"position": "Senior Backend Engineer", "job_description": "Python, Django and PostgreSQL."}
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="{main}"/></Types>'
)


def word_cv(*, with_table: bool = True, header: str | None = None) -> bytes:
    document = docx.Document()
    if header:
        document.sections[0].header.paragraphs[0].text = header
    document.add_heading("Jane Doe", level=1)
    document.add_paragraph("Backend engineer with six years of experience in Python and Django.")
    document.add_heading("Experience", level=2)
    document.add_paragraph("Senior Software Engineer, Ledgerly Ltd, 2021 - present", style="List Bullet")
    document.add_paragraph("Moved batch processing to Celery, cutting run time from 4 hours to 35 minutes.")
    if with_table:
        table = document.add_table(rows=2, cols=2)
        table.cell(0, 0).text, table.cell(0, 1).text = "Languages", "Python, SQL"
        table.cell(1, 0).text, table.cell(1, 1).text = "Data", "PostgreSQL, Redis"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def rezip(
    source: bytes,
    *,
    drop: frozenset[str] | set[str] = frozenset(),
    replace: dict | None = None,
    add: dict | None = None,
):
    """A copy of the archive ``source`` with parts dropped, replaced or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as original, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for entry in original.infolist():
            if entry.filename in drop:
                continue
            copy.writestr(entry.filename, (replace or {}).get(entry.filename, original.read(entry)))
        for name, content in (add or {}).items():
            copy.writestr(name, content)
    return out.getvalue()


def zip_bomb(*, inflated_bytes: int) -> bytes:
    """A .docx-shaped archive whose document.xml inflates to ``inflated_bytes`` of spaces (about 1000:1)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES.format(main=docx_text.DOCX_MAIN_CONTENT_TYPE))
        with archive.open("word/document.xml", "w") as part:
            chunk = b" " * (1024 * 1024)
            for _ in range(inflated_bytes // len(chunk)):
                part.write(chunk)
    return out.getvalue()


def lying_sizes(source: bytes, name: str, declared: int) -> bytes:
    """``source`` with the uncompressed size of ``name`` rewritten to ``declared`` in both zip headers."""
    data = bytearray(source)
    encoded = name.encode()
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        entry = archive.getinfo(name)
    # Local file header: the uncompressed size sits 22 bytes in.
    struct.pack_into("<I", data, entry.header_offset + 22, declared)
    # Central directory record: signature PK\x01\x02, uncompressed size 24 bytes in, name 46 bytes in.
    position = 0
    while True:
        position = data.index(b"PK\x01\x02", position)
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if bytes(data[position + 46 : position + 46 + name_length]) == encoded:
            struct.pack_into("<I", data, position + 24, declared)
            return bytes(data)
        position += 4


def upload(client, content: bytes, name: str = "cv.docx"):
    return client.post(
        URL, {**JOB, "resume": SimpleUploadedFile(name, content, content_type=DOCX_TYPE)}, format="multipart"
    )


def _stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


@pytest.mark.django_db
def test_word_cv_is_accepted_with_its_paragraphs_and_tables_and_stored_as_docx(api_client, user, tmp_media):
    content = word_cv(header="jane.doe@example.com | +44 20 7946 0958")

    response = upload(api_client, content, name="My CV.docx")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["has_resume"] is True
    assert body["resume_pages"] == 1
    text = body["resume_text"]
    assert text.startswith("jane.doe@example.com | +44 20 7946 0958\nJane Doe\n")
    assert "Senior Software Engineer, Ledgerly Ltd, 2021 - present" in text
    assert "Languages | Python, SQL\nData | PostgreSQL, Redis" in text
    questionnaire = CVQuestionnaire.objects.get(pk=body["id"])
    assert questionnaire.resume.name.startswith(f"cvs/{user.pk}/") and questionnaire.resume.name.endswith(".docx")
    assert default_storage.open(questionnaire.resume.name).read() == content


@pytest.mark.django_db
def test_a_questionnaire_from_a_word_cv_can_be_analysed(
    api_client, tmp_media, enqueued, django_capture_on_commit_callbacks
):
    created = upload(api_client, word_cv()).json()

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/cv/ai-responses/", {"questionnaire": created["id"]}, format="json")

    assert response.status_code == 202, response.content
    assert enqueued == [response.json()["id"]]


def _docm_by_content_type() -> bytes:
    source = word_cv()
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        types = archive.read("[Content_Types].xml").decode()
    macro_types = types.replace(
        docx_text.DOCX_MAIN_CONTENT_TYPE, "application/vnd.ms-word.document.macroEnabled.main+xml"
    )
    return rezip(source, replace={"[Content_Types].xml": macro_types.encode()})


def _with_vba_project() -> bytes:
    return rezip(word_cv(), add={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0" + b"\0" * 512})


def _without_document() -> bytes:
    return rezip(word_cv(), drop={"word/document.xml"})


def _wrong_main_content_type() -> bytes:
    source = word_cv()
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        types = archive.read("[Content_Types].xml").decode()
    spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    return rezip(source, replace={"[Content_Types].xml": types.replace(docx_text.DOCX_MAIN_CONTENT_TYPE, spreadsheet)})


def _empty_document() -> bytes:
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    return buffer.getvalue()


def _png() -> bytes:
    return b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + b"\0" * 200


def _encrypted() -> bytes:
    # What Word writes for a password-protected document: an OLE compound file holding the encrypted package.
    return docx_text.OLE_MAGIC + b"\0" * 2048


def _garbage_zip() -> bytes:
    return docx_text.ZIP_MAGIC + bytes(range(256)) * 8


def _entity_expansion() -> bytes:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE Types [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">&b;</Types>'
    )
    return rezip(word_cv(), replace={"[Content_Types].xml": laughs.encode()})


def _lying_zip() -> bytes:
    # document.xml's headers claim 2,000 bytes; it inflates to far more.
    return lying_sizes(zip_bomb(inflated_bytes=8 * 1024 * 1024), "word/document.xml", 2000)


# (build the file, expected code, words of the message the person reads)
HOSTILE = {
    "png_renamed": (_png, "not_pdf", "not a PDF or a Word document"),
    "docm_content_type": (_docm_by_content_type, "docx_macros", "contains macros"),
    "vba_project": (_with_vba_project, "docx_macros", "contains macros"),
    "zip_bomb_total": (lambda: zip_bomb(inflated_bytes=64 * 1024 * 1024), "docx_too_large_uncompressed", "zip bomb"),
    "zip_bomb_ratio": (lambda: zip_bomb(inflated_bytes=8 * 1024 * 1024), "docx_too_large_uncompressed", "zip bomb"),
    "lying_sizes": (_lying_zip, "damaged", "damaged"),
    "no_document_xml": (_without_document, "not_docx", "not a Word document"),
    "wrong_content_type": (_wrong_main_content_type, "not_docx", "not a Word document"),
    "empty_document": (_empty_document, "no_text", "could not find any text"),
    "encrypted": (_encrypted, "doc_or_encrypted", "password-protected"),
    "garbage_zip": (_garbage_zip, "damaged", "damaged"),
    "entity_expansion": (_entity_expansion, "damaged", "damaged"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_word_file_is_refused_with_its_own_message_and_nothing_is_stored(api_client, tmp_media, case):
    build, code, words = HOSTILE[case]
    content = build()

    started = time.monotonic()
    response = upload(api_client, content, name="cv.docm" if case.startswith("docm") else "cv.docx")
    elapsed = time.monotonic() - started

    assert response.status_code == 400, response.content
    [message] = response.json()["resume"]
    assert words in message
    assert not CVQuestionnaire.objects.exists()
    assert _stored_files(tmp_media) == []
    assert elapsed < 10
    with pytest.raises(CVFileError) as refused:
        docx_text.extract_resume_text(content)
    assert refused.value.code == code


def test_zip_bombs_are_refused_from_the_central_directory_before_inflating(monkeypatch):
    bombs = [zip_bomb(inflated_bytes=64 * 1024 * 1024), zip_bomb(inflated_bytes=8 * 1024 * 1024)]

    def no_inflating(self, *args, **kwargs):
        raise AssertionError("a part was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_inflating)
    for bomb in bombs:
        with pytest.raises(CVFileError) as refused:
            docx_text.check_container(bomb)
        assert refused.value.code == "docx_too_large_uncompressed"


def test_inflating_stops_at_the_declared_size_when_the_directory_lies():
    content = _lying_zip()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        entry = archive.getinfo("word/document.xml")
        assert entry.file_size == 2000
        with pytest.raises((CVFileError, zipfile.BadZipFile)):
            docx_text._inflate(archive, entry, budget=docx_text.MAX_UNCOMPRESSED_BYTES)


@pytest.mark.django_db
def test_word_file_over_the_upload_limit_is_refused(api_client, tmp_media, settings):
    settings.CV_MAX_UPLOAD_BYTES = 20_000
    response = upload(api_client, word_cv() + b"\0" * 30_000)

    assert response.status_code == 400
    assert "too large" in response.json()["resume"][0]
    assert _stored_files(tmp_media) == []
