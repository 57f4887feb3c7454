import threading

import pytest
from django.db import connection

from pdf import services
from pdf.models import Document
from pdf.tests.factories import ai_response_for

pytestmark = pytest.mark.django_db


def generate_url(response_id: int, prefix: str = "cv") -> str:
    return f"/{prefix}/ai-responses/{response_id}/generate-pdf/"


def test_generate_answers_202_with_a_pending_document_and_queues_one_render(
    api_client, user, ai_response, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post(generate_url(ai_response.pk), {"template": "modern"}, format="json")

    assert response.status_code == 202
    body = response.json()
    assert body["ai_response"] == ai_response.pk
    assert body["template"] == "modern"
    assert body["status"] == "pending"
    assert body["download_url"] is None
    assert set(body) == {
        "id",
        "ai_response",
        "cover_letter",
        "template",
        "version",
        "status",
        "error",
        "size",
        "pages",
        "download_url",
        "created_at",
    }
    document = Document.objects.get(pk=body["id"])
    assert document.user == user
    assert document.enqueued_at is not None
    assert len(callbacks) == 1


def test_template_defaults_to_classic(api_client, ai_response, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        response = api_client.post(generate_url(ai_response.pk), {}, format="json")

    assert response.status_code == 202
    assert response.json()["template"] == "classic"


def test_generate_is_also_mounted_under_api(api_client, ai_response, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        response = api_client.post(generate_url(ai_response.pk, prefix="api"), {}, format="json")

    assert response.status_code == 202


def test_same_response_and_template_returns_the_existing_document(
    api_client, ai_response, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as first_callbacks:
        first = api_client.post(generate_url(ai_response.pk), {"template": "classic"}, format="json").json()
    with django_capture_on_commit_callbacks() as second_callbacks:
        second = api_client.post(generate_url(ai_response.pk), {"template": "classic"}, format="json").json()

    assert second["id"] == first["id"]
    assert Document.objects.count() == 1
    assert len(first_callbacks) == 1
    assert second_callbacks == []


def test_another_template_is_another_document(api_client, ai_response, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        classic = api_client.post(generate_url(ai_response.pk), {"template": "classic"}, format="json").json()
        modern = api_client.post(generate_url(ai_response.pk), {"template": "modern"}, format="json").json()

    assert classic["id"] != modern["id"]


@pytest.mark.parametrize(
    "code", ["render_failed", "render_timeout", "render_abandoned", "content_too_large", "internal_error"]
)
def test_asking_again_for_a_text_that_failed_returns_the_failed_document_and_renders_nothing(
    api_client, ai_response, code, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        first = api_client.post(generate_url(ai_response.pk), {}, format="json").json()
    Document.objects.filter(pk=first["id"]).update(status="failed", error="It failed.", error_code=code, attempts=1)

    with django_capture_on_commit_callbacks() as callbacks:
        again = api_client.post(generate_url(ai_response.pk), {}, format="json")

    assert again.status_code == 202
    assert again.json()["id"] == first["id"]
    assert again.json()["status"] == "failed"
    assert again.json()["error"] == "It failed."
    assert callbacks == []
    assert Document.objects.get(pk=first["id"]).attempts == 1


@pytest.mark.parametrize("code", ["storage_failed", ""], ids=["storage_failed", "failed-before-codes"])
def test_asking_again_after_a_failure_outside_the_render_queues_it_again(
    api_client, ai_response, code, django_capture_on_commit_callbacks
):
    """The file could not be stored, or the document failed before failures had codes (when asking again
    always rendered again): the same text is rendered once more."""
    with django_capture_on_commit_callbacks():
        first = api_client.post(generate_url(ai_response.pk), {}, format="json").json()
    Document.objects.filter(pk=first["id"]).update(status="failed", error="not stored", error_code=code, attempts=3)

    with django_capture_on_commit_callbacks() as callbacks:
        again = api_client.post(generate_url(ai_response.pk), {}, format="json")

    assert again.status_code == 202
    assert again.json()["id"] == first["id"]
    assert again.json()["status"] == "pending"
    assert again.json()["error"] == ""
    assert len(callbacks) == 1


def test_a_changed_text_after_a_failure_is_a_new_document_and_is_rendered(
    api_client, ai_response, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        first = api_client.post(generate_url(ai_response.pk), {}, format="json").json()
    Document.objects.filter(pk=first["id"]).update(status="failed", error="It failed.", error_code="render_failed")
    ai_response.improved_cv += "\n\n## Interests\n\n- Chess"
    ai_response.save(update_fields=["improved_cv"])

    with django_capture_on_commit_callbacks() as callbacks:
        again = api_client.post(generate_url(ai_response.pk), {}, format="json")

    assert again.status_code == 202
    assert again.json()["id"] != first["id"]
    assert again.json()["status"] == "pending"
    assert len(callbacks) == 1


def test_asking_again_for_a_cover_letter_that_failed_renders_nothing(
    api_client, user, ai_response, django_capture_on_commit_callbacks
):
    from cv.models import CoverLetter

    letter = CoverLetter.objects.create(ai_response=ai_response, user=user, status="succeeded", letter="Dear team,")
    with django_capture_on_commit_callbacks():
        first = api_client.post(f"/cv/cover-letters/{letter.pk}/generate-pdf/").json()
    Document.objects.filter(pk=first["id"]).update(status="failed", error="It failed.", error_code="render_failed")

    with django_capture_on_commit_callbacks() as callbacks:
        again = api_client.post(f"/cv/cover-letters/{letter.pk}/generate-pdf/")

    assert again.status_code == 202
    assert again.json()["id"] == first["id"]
    assert again.json()["status"] == "failed"
    assert callbacks == []


def test_another_users_response_is_404(other_client, ai_response):
    response = other_client.post(generate_url(ai_response.pk), {}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not Document.objects.exists()


def test_missing_response_is_404(api_client):
    assert api_client.post(generate_url(999_999), {}, format="json").status_code == 404


@pytest.mark.parametrize("status", ["pending", "running", "failed"])
def test_response_that_has_not_succeeded_is_409(api_client, user, status):
    unfinished = ai_response_for(user=user, improved_cv="", status=status)

    response = api_client.post(generate_url(unfinished.pk), {}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "ai_response_not_ready"
    assert not Document.objects.exists()


def test_unknown_template_is_400(api_client, ai_response):
    response = api_client.post(generate_url(ai_response.pk), {"template": "comic-sans"}, format="json")

    assert response.status_code == 400
    assert "template" in response.json()
    assert not Document.objects.exists()


def test_service_refuses_unknown_template_with_a_clear_error(user, ai_response):
    with pytest.raises(services.UnknownTemplateError) as caught:
        services.document_request(user=user, ai_response=ai_response, template="comic-sans")

    assert "classic" in caught.value.detail


def test_anonymous_generate_is_401(anon_client, ai_response):
    assert anon_client.post(generate_url(ai_response.pk), {}, format="json").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_for_the_same_rendering_create_one_document(user, ai_response, monkeypatch):
    queued = []
    monkeypatch.setattr("pdf.tasks.render_document.apply_async", lambda args, **options: queued.append(args[0]))
    barrier = threading.Barrier(4)
    results, errors = [], []

    def request():
        try:
            barrier.wait(timeout=10)
            results.append(services.document_request(user=user, ai_response=ai_response.pk, template="modern"))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len({document.pk for document, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert Document.objects.count() == 1
    assert len(queued) == 1


def test_asking_again_after_the_file_went_missing_renders_it_again(
    api_client, user, ai_response, tmp_media, django_capture_on_commit_callbacks
):
    document, _ = services.document_request(user=user, ai_response=ai_response, template="classic")
    services.document_render(document_id=document.pk)
    document.refresh_from_db()
    document.file.storage.delete(document.file.name)
    assert api_client.get(f"/pdf/documents/{document.pk}/download/").status_code == 404

    with django_capture_on_commit_callbacks() as callbacks:
        again = api_client.post(generate_url(ai_response.pk), {"template": "classic"}, format="json")

    assert again.json()["id"] == document.pk
    assert again.json()["status"] == "pending"
    assert len(callbacks) == 1


@pytest.mark.django_db(transaction=True)
def test_broker_outage_is_a_503_and_leaves_no_document(api_client, ai_response, monkeypatch):
    from kombu.exceptions import OperationalError

    from pdf import tasks
    from pdf.models import Document

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.render_document, "apply_async", broker_down)

    response = api_client.post(f"/cv/ai-responses/{ai_response.pk}/generate-pdf/", {}, format="json")

    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert not Document.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_broker_outage_puts_a_failed_document_back_as_it_was(api_client, ai_response, monkeypatch):
    from kombu.exceptions import OperationalError

    from pdf import tasks
    from pdf.models import Document

    monkeypatch.setattr(tasks.render_document, "apply_async", lambda args, **options: None)
    first = api_client.post(f"/cv/ai-responses/{ai_response.pk}/generate-pdf/", {}, format="json")
    # A failure that asking again renders again (one of the text's own is answered as it is, no broker needed).
    Document.objects.filter(pk=first.json()["id"]).update(
        status="failed", error="Not stored.", error_code="storage_failed", attempts=3
    )

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.render_document, "apply_async", broker_down)
    again = api_client.post(f"/cv/ai-responses/{ai_response.pk}/generate-pdf/", {}, format="json")

    assert again.status_code == 503
    document = Document.objects.get()
    assert (document.status, document.error, document.error_code, document.attempts) == (
        "failed",
        "Not stored.",
        "storage_failed",
        3,
    )
