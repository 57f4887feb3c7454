"""End to end through a real Celery worker subprocess consuming the `pdf` queue, on the real database."""

import io
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from pdf import services
from pdf.models import Document
from pdf.tasks import sweep_stuck_documents
from pdf.tests.factories import ai_response_for
from pdf.tests.helpers import PASSWD_MARKER

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_until_finished(client, document_id: int, *, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/pdf/documents/{document_id}/").json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"document {document_id} still {body['status']} after {timeout} s")


def download(client, body: dict) -> bytes:
    response = client.get(body["download_url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    return b"".join(response.streaming_content)


def test_worker_renders_the_cv_and_the_owner_downloads_it(celery_worker, api_client, user, jane_markdown):
    ai_response = ai_response_for(user=user, improved_cv=jane_markdown)

    accepted = api_client.post(f"/cv/ai-responses/{ai_response.pk}/generate-pdf/", {"template": "modern"})
    assert accepted.status_code == 202
    body = wait_until_finished(api_client, accepted.json()["id"])

    assert body["status"] == "succeeded", body["error"]
    assert body["pages"] == 1
    reader = PdfReader(io.BytesIO(download(api_client, body)))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text().casefold()
    for heading in ("Jane Doe", "Summary", "Experience", "Education", "Skills", "Languages"):
        assert heading.casefold() in text

    again = api_client.post(f"/cv/ai-responses/{ai_response.pk}/generate-pdf/", {"template": "modern"})
    assert again.json()["id"] == body["id"]
    assert again.json()["status"] == "succeeded"
    document = Document.objects.get(pk=body["id"])
    assert document.attempts == 1
    assert Document.objects.count() == 1


def test_long_cv_renders_on_several_pages_through_the_worker(celery_worker, api_client, user, jane_markdown):
    ai_response = ai_response_for(user=user, improved_cv="\n\n".join([jane_markdown] * 3))

    accepted = api_client.post(f"/api/ai-responses/{ai_response.pk}/generate-pdf/", {"template": "classic"})
    body = wait_until_finished(api_client, accepted.json()["id"])

    assert body["status"] == "succeeded", body["error"]
    reader = PdfReader(io.BytesIO(download(api_client, body)))
    assert len(reader.pages) == body["pages"] >= 2
    assert f"Page {body['pages']} of {body['pages']}" in reader.pages[-1].extract_text()


def test_dangerous_markdown_through_the_worker_fetches_and_leaks_nothing(
    celery_worker,
    api_client,
    user,
    local_server,
):
    port = local_server.server_address[1]
    markdown = (
        "# Mallory\n\n## Experience\n\n"
        '<img src="file:///etc/passwd">\n\n'
        f"![x](http://127.0.0.1:{port}/x.png)\n\n"
        "<script>document.write('owned')</script>\n\n"
        f'<link rel="stylesheet" href="http://127.0.0.1:{port}/s.css">\n\n'
        f"<p style=\"background:url('http://127.0.0.1:{port}/bg.png')\">styled</p>\n"
    )
    ai_response = ai_response_for(user=user, improved_cv=markdown)

    accepted = api_client.post(f"/cv/ai-responses/{ai_response.pk}/generate-pdf/", {})
    body = wait_until_finished(api_client, accepted.json()["id"])

    assert body["status"] == "succeeded", body["error"]
    content = download(api_client, body)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert "Mallory" in text
    assert PASSWD_MARKER not in text
    assert PASSWD_MARKER.encode() not in content
    assert local_server.connections == []


def test_document_left_running_by_a_dead_worker_is_finished_after_the_sweep(
    celery_worker, api_client, user, jane_markdown
):
    ai_response = ai_response_for(user=user, improved_cv=jane_markdown)
    # What a worker killed mid-render leaves behind: a claimed row whose lease has run out, no file.
    document = Document.objects.create(
        user=user,
        ai_response=ai_response,
        template="classic",
        content_hash=services.content_hash_for(markdown=jane_markdown, template="classic"),
        status="running",
        attempts=1,
        started_at=timezone.now() - timedelta(seconds=services.RENDER_LEASE_SECONDS + 5),
    )

    sweep_stuck_documents.delay()
    body = wait_until_finished(api_client, document.pk)

    assert body["status"] == "succeeded", body["error"]
    assert PdfReader(io.BytesIO(download(api_client, body))).pages[0].extract_text().startswith("Jane Doe")
    document.refresh_from_db()
    assert document.attempts == 2
