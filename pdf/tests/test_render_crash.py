"""An unexpected error anywhere in a render, called as the task calls it: the document ends `failed` with an
error its owner can read, never `running` until the sweep renders it again."""

import pytest
from django.core.files.storage import default_storage

from pdf import services
from pdf.models import Document

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(user, ai_response, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        document, _ = services.document_request(user=user, ai_response=ai_response, template="classic")
    return document


def test_a_storage_error_that_is_not_an_os_error_fails_the_document(document, tmp_media, monkeypatch):
    def refused(name, content, **kwargs):
        # What an object store's client raises (botocore's ClientError is no OSError).
        raise RuntimeError("AccessDenied")

    monkeypatch.setattr(default_storage, "save", refused)

    services.document_render(document_id=document.pk)

    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert document.error_code == "internal_error"
    assert document.error.startswith("The PDF could not be rendered because of an error on our side")
    assert document.lease_token is None and document.finished_at is not None
    assert not document.file


def test_an_error_before_rendering_fails_the_document(document, tmp_media, monkeypatch):
    def broken(response):
        raise RuntimeError("a bug reading the version")

    monkeypatch.setattr(services, "cv_markdown_of", broken)

    services.document_render(document_id=document.pk)

    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert "bug" not in document.error
