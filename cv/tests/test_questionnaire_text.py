"""A questionnaire's text enters clean: the characters PostgreSQL or a Word export cannot hold (NUL, other
control characters, lone surrogates) are removed from every field and from the CV's extracted text."""

import io
import json

import pypdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from cv.models import CVQuestionnaire

URL = "/cv/questionnaire/"
JOB = {"position": "Senior Backend Engineer", "experience_level": "6+", "company_size": "medium"}
pytestmark = pytest.mark.django_db


def _pdf(*lines: bytes) -> SimpleUploadedFile:
    """A one-page PDF whose text operators draw ``lines`` as given (PDF string escapes included)."""
    writer = pypdf.PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    content = DecodedStreamObject()
    content.set_data(b"BT /F1 12 Tf 72 760 Td " + b"".join(b"(" + line + b") Tj 0 -16 Td " for line in lines) + b"ET")
    page[NameObject("/Contents")] = writer._add_object(content.flate_encode())
    out = io.BytesIO()
    writer.write(out)
    return SimpleUploadedFile("cv.pdf", out.getvalue(), content_type="application/pdf")


def test_job_fields_holding_control_characters_are_stored_clean(api_client):
    response = api_client.post(
        URL,
        {
            **JOB,
            "position": "Senior\x01 Backend Engineer",
            "industry": "Fin\x00Tech",
            "location": "Lon\x0bdon",
            "job_description": "We build\x00 payment APIs.\x01\nPython\x1f and Django &#1;required.",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    stored = CVQuestionnaire.objects.get(pk=response.json()["id"])
    assert (stored.position, stored.industry, stored.location) == ("Senior Backend Engineer", "FinTech", "London")
    assert stored.job_description == "We build payment APIs.\nPython and Django required."
    assert response.json()["job_description"] == stored.job_description


def test_a_lone_surrogate_in_a_field_is_removed_not_a_500(api_client):
    # Valid JSON (an escaped lone surrogate), which the HTML sanitiser could not encode.
    body = json.dumps({**JOB, "position": "Backend\ud800 Engineer", "job_description": "Go\udfff and Rust"})
    response = api_client.post(URL, data=body, content_type="application/json")

    assert response.status_code == 201, response.content
    stored = CVQuestionnaire.objects.get(pk=response.json()["id"])
    assert (stored.position, stored.job_description) == ("Backend Engineer", "Go and Rust")


def test_an_edit_is_cleaned_too(api_client):
    created = api_client.post(URL, JOB, format="json").json()

    response = api_client.patch(f"{URL}{created['id']}/", {"job_description": "Kotlin\x00\x02 first"}, format="json")

    assert response.status_code == 200, response.content
    assert CVQuestionnaire.objects.get(pk=created["id"]).job_description == "Kotlin first"


def test_a_cv_whose_text_holds_control_characters_is_stored_clean(api_client, tmp_media):
    upload = _pdf(
        b"Jane\\001 Doe",
        b"Backend\\003 engineer\\000 with eight years of Python\\002 and Django.",
        b"Built payment APIs at Ledgerly Ltd\\037 for two million customers.",
    )

    response = api_client.post(URL, {**JOB, "resume": upload}, format="multipart")

    assert response.status_code == 201, response.content
    text = CVQuestionnaire.objects.get(pk=response.json()["id"]).resume_text
    assert text.startswith("Jane Doe\nBackend engineer with eight years of Python and Django.")
    assert "Ledgerly Ltd for two million customers." in text
    assert not any(ord(ch) < 0x20 and ch not in "\t\n\r" for ch in text)
