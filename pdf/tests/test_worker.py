"""End to end through a real Celery worker subprocess consuming the `pdf` queue, on the real database."""

import io
import time
from datetime import timedelta

import pytest
from django.conf import settings
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
        started_at=timezone.now() - timedelta(seconds=settings.PDF_RENDER_LEASE_SECONDS + 5),
    )

    sweep_stuck_documents.delay()
    body = wait_until_finished(api_client, document.pk)

    assert body["status"] == "succeeded", body["error"]
    assert PdfReader(io.BytesIO(download(api_client, body))).pages[0].extract_text().startswith("Jane Doe")
    document.refresh_from_db()
    assert document.attempts == 2


def _api_calls_taken(user, call):
    """The answer of `call()` and how many of the plan's API calls it took."""
    from core.quotas import api_calls_used

    before = api_calls_used(user=user)
    answer = call()
    return answer, api_calls_used(user=user) - before


def test_a_document_past_the_bounds_fails_fast_in_the_worker_and_only_a_changed_text_renders(
    celery_worker, api_client, user, jane_markdown
):

    hostile = jane_markdown + "\n\n" + "x" * 20_000  # one word that WeasyPrint breaks in quadratic time
    ai_response = ai_response_for(user=user, improved_cv=hostile)
    # Queued before the bounds existed (no request checked it); the sweep sends what was never sent.
    document = Document.objects.create(
        user=user,
        ai_response=ai_response,
        template="classic",
        content_hash=services.content_hash_for(markdown=hostile, template="classic"),
    )
    sweep_stuck_documents.delay()

    body = wait_until_finished(api_client, document.pk)

    assert body["status"] == "failed"
    assert f"A word in the CV is 20,000 characters long; the limit is {settings.CV_MAX_WORD_CHARS:,}." in body["error"]
    document.refresh_from_db()
    assert (document.error_code, document.attempts) == ("content_too_large", 1)
    sent_at = document.enqueued_at

    url = f"/cv/ai-responses/{ai_response.pk}/generate-pdf/"
    again, taken = _api_calls_taken(user, lambda: api_client.post(url, {"template": "classic"}))

    assert again.status_code == 400
    assert (again.json()["code"], again.json()["actual"]) == ("cv_word_too_long", 20_000)
    assert taken == 1
    document.refresh_from_db()
    assert (document.status, document.attempts, document.enqueued_at) == ("failed", 1, sent_at)

    ai_response.improved_cv = jane_markdown  # the text changed: a new document, rendered
    ai_response.save(update_fields=["improved_cv"])
    changed, taken = _api_calls_taken(user, lambda: api_client.post(url, {"template": "classic"}))

    assert changed.status_code == 202
    assert changed.json()["id"] != document.pk
    assert taken == 1
    assert wait_until_finished(api_client, changed.json()["id"])["status"] == "succeeded"


def test_a_failed_text_asked_for_again_is_answered_as_it_is_and_not_rendered_again(
    celery_worker, api_client, user, jane_markdown
):
    ai_response = ai_response_for(user=user, improved_cv=jane_markdown)
    url = f"/cv/ai-responses/{ai_response.pk}/generate-pdf/"
    first = api_client.post(url, {"template": "modern"}).json()
    assert wait_until_finished(api_client, first["id"])["status"] == "succeeded"
    # As a render that crashed on this text leaves its document.
    crashed = services.FAILURES["render_failed"].message
    Document.objects.filter(pk=first["id"]).update(status="failed", error=crashed, error_code="render_failed")
    sent_at = Document.objects.get(pk=first["id"]).enqueued_at

    again, taken = _api_calls_taken(user, lambda: api_client.post(url, {"template": "modern"}))

    assert again.status_code == 202
    assert again.json()["id"] == first["id"]
    assert (again.json()["status"], again.json()["error"]) == ("failed", crashed)
    assert taken == 1
    document = Document.objects.get(pk=first["id"])
    assert (document.status, document.attempts, document.enqueued_at) == ("failed", 1, sent_at)

    # A failure that was not the text's doing is rendered again when asked, and that render costs its call.
    Document.objects.filter(pk=first["id"]).update(error_code="storage_failed")
    retried, taken = _api_calls_taken(user, lambda: api_client.post(url, {"template": "modern"}))

    assert (retried.status_code, retried.json()["status"]) == (202, "pending")
    assert taken == 1
    assert wait_until_finished(api_client, first["id"])["status"] == "succeeded"
    document.refresh_from_db()
    assert document.attempts == 1  # reset when queued again, then one render
