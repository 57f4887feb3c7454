"""The render service called directly (no worker): claim, store, fail, retry, sweep, re-render."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from pdf import services, tasks
from pdf.models import Document

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(user, ai_response, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        document, _ = services.document_request(user=user, ai_response=ai_response, template="classic")
    return document


def test_render_stores_the_pdf_and_records_its_facts(document, tmp_media):
    services.document_render(document_id=document.pk)

    document.refresh_from_db()
    assert document.status == "succeeded"
    assert document.attempts == 1
    assert document.pages == 1
    assert document.size == default_storage.size(document.file.name)
    assert document.file.name.startswith(f"documents/{document.user_id}/")
    assert document.started_at <= document.finished_at
    with default_storage.open(document.file.name, "rb") as handle:
        assert handle.read(5) == b"%PDF-"


def test_a_second_delivery_of_the_same_task_does_nothing(document, tmp_media):
    services.document_render(document_id=document.pk)
    document.refresh_from_db()
    first_file = document.file.name

    assert services.document_render(document_id=document.pk) is None

    document.refresh_from_db()
    assert document.file.name == first_file
    assert document.attempts == 1


def test_render_crash_ends_failed_with_a_readable_error(document, tmp_media, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("cairo went away")

    monkeypatch.setattr(services, "render_pdf", explode)

    services.document_render(document_id=document.pk)

    document.refresh_from_db()
    assert document.status == "failed"
    assert document.error_code == "render_failed"
    assert document.error.startswith("The PDF could not be rendered. Change the text")
    assert "cairo" not in document.error
    assert not document.file


def test_storage_failure_is_retried_then_fails(document, tmp_media, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(services.default_storage, "save", full_disk)

    for _ in range(settings.PDF_MAX_ATTEMPTS - 1):
        with pytest.raises(services.RenderRetryable):
            services.document_render(document_id=document.pk)
        document.refresh_from_db()
        assert document.status == "pending"
    services.document_render(document_id=document.pk)

    document.refresh_from_db()
    assert document.status == "failed"
    assert document.attempts == settings.PDF_MAX_ATTEMPTS
    assert "could not be stored" in document.error
    assert document.error_code == "storage_failed"


def test_task_turns_a_storage_failure_into_a_celery_retry(document, tmp_media, monkeypatch):
    monkeypatch.setattr(services.default_storage, "save", lambda *a, **k: (_ for _ in ()).throw(OSError("full")))
    retried = []

    def fake_retry(*, exc, countdown):
        retried.append(countdown)
        return RuntimeError("retry")

    monkeypatch.setattr(tasks.render_document, "retry", fake_retry)

    with pytest.raises(RuntimeError, match="retry"):
        tasks.render_document.run(document.pk)
    assert retried == [5]


def test_rerender_replaces_the_file_and_removes_the_old_one(document, tmp_media, django_capture_on_commit_callbacks):
    services.document_render(document_id=document.pk)
    document.refresh_from_db()
    old_file = document.file.name

    with django_capture_on_commit_callbacks() as callbacks:
        services.document_rerender(document=document)
    assert len(callbacks) == 1
    document.refresh_from_db()
    assert document.status == "pending"
    services.document_render(document_id=document.pk)

    document.refresh_from_db()
    assert document.status == "succeeded"
    assert document.file.name != old_file
    assert default_storage.exists(document.file.name)
    assert not default_storage.exists(old_file)


def test_sweep_requeues_a_document_whose_worker_died(document, django_capture_on_commit_callbacks):
    long_ago = timezone.now() - timedelta(seconds=settings.PDF_RENDER_LEASE_SECONDS + 1)
    Document.objects.filter(pk=document.pk).update(status="running", started_at=long_ago, attempts=1)

    with django_capture_on_commit_callbacks() as callbacks:
        queued = services.documents_sweep_stuck()

    assert queued == [document.pk]
    assert len(callbacks) == 1
    document.refresh_from_db()
    assert document.status == "pending"


def test_sweep_leaves_a_fresh_running_document_alone(document, django_capture_on_commit_callbacks):
    Document.objects.filter(pk=document.pk).update(status="running", started_at=timezone.now(), attempts=1)

    with django_capture_on_commit_callbacks() as callbacks:
        assert services.documents_sweep_stuck() == []
    assert callbacks == []


def test_sweep_requeues_a_pending_document_whose_message_was_lost_once_per_lease(
    document, django_capture_on_commit_callbacks
):
    long_ago = timezone.now() - timedelta(seconds=settings.PDF_RENDER_LEASE_SECONDS + 1)
    Document.objects.filter(pk=document.pk).update(enqueued_at=long_ago)

    with django_capture_on_commit_callbacks():
        assert services.documents_sweep_stuck() == [document.pk]
        assert services.documents_sweep_stuck() == []


def test_sweep_fails_a_document_after_the_last_attempt(document):
    long_ago = timezone.now() - timedelta(seconds=settings.PDF_RENDER_LEASE_SECONDS + 1)
    Document.objects.filter(pk=document.pk).update(
        status="running", started_at=long_ago, attempts=settings.PDF_MAX_ATTEMPTS
    )

    assert services.documents_sweep_stuck() == []

    document.refresh_from_db()
    assert document.status == "failed"
    assert "did not finish" in document.error
    assert document.error_code == "render_abandoned"


def test_a_worker_that_lost_its_lease_does_not_overwrite_the_takeover(document, tmp_media, monkeypatch):
    """Worker A stalls past the lease, worker B takes over and finishes; A's late result is dropped."""
    real_render = services.render_pdf
    outcome = {}

    def stalled_render(**kwargs):
        # While A is "stalled", its lease runs out and B renders the document completely.
        long_ago = timezone.now() - timedelta(seconds=settings.PDF_RENDER_LEASE_SECONDS + 1)
        Document.objects.filter(pk=document.pk).update(started_at=long_ago)
        monkeypatch.setattr(services, "render_pdf", real_render)
        services.document_render(document_id=document.pk)
        outcome["b_file"] = Document.objects.get(pk=document.pk).file.name
        return real_render(**kwargs)

    monkeypatch.setattr(services, "render_pdf", stalled_render)
    services.document_render(document_id=document.pk)

    document.refresh_from_db()
    assert document.status == "succeeded"
    assert document.file.name == outcome["b_file"]
    assert document.attempts == 2
    # Only B's file is left in the document's folder.
    _, files = default_storage.listdir(f"documents/{document.user_id}")
    assert files == [outcome["b_file"].rsplit("/", 1)[1]]


def test_render_task_is_routed_to_the_pdf_queue():
    from cvimprover.celery import app

    route = app.amqp.router.route({}, "pdf.tasks.render_document", args=(1,))

    assert route["queue"].name == "pdf"
    assert tasks.render_document.acks_late is True


def test_rendering_logs_ids_but_no_cv_content(document, tmp_media, caplog):
    caplog.set_level("DEBUG")

    services.document_render(document_id=document.pk)

    messages = "\n".join(record.getMessage() for record in caplog.records)
    assert f"document={document.pk}" in messages
    for cv_text in ("Jane", "Ledgerly", "jane.doe@example.com"):
        assert cv_text not in messages
    assert not [record for record in caplog.records if record.name.startswith(("weasyprint", "fontTools"))]


def test_offline_review_stays_out_of_the_pdf_for_employers(user, tmp_media, django_capture_on_commit_callbacks):
    from io import BytesIO

    from pypdf import PdfReader

    from cv.llm import offline
    from cv.scoring.job import Job
    from pdf.tests.factories import ai_response_for

    result = offline.analyse(
        job=Job(position="Backend Engineer", description="Python, Django and Kubernetes."),
        cv_text="Jane Doe\njane@example.com\n\nExperience\nBackend developer at Acme, built APIs in Python.\n",
        prompt="Make it stronger.",
    )
    response = ai_response_for(user=user, improved_cv=result.improved_cv_markdown)
    response.model = offline.MODEL_NAME
    response.save(update_fields=["model"])
    assert "Review against the job" in response.improved_cv  # the applicant still sees the review

    with django_capture_on_commit_callbacks():
        document, _ = services.document_request(user=user, ai_response=response, template="classic")
    services.document_render(document_id=document.pk)

    document.refresh_from_db()
    with default_storage.open(document.file.name, "rb") as handle:
        text = "".join(page.extract_text() for page in PdfReader(BytesIO(handle.read())).pages)
    assert "Jane Doe" in text
    assert "Review against the job" not in text
    assert "Kubernetes" not in text


def test_a_render_past_the_time_limit_ends_failed_and_says_so(document, tmp_media, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    def too_slow(**kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "render_pdf", too_slow)

    services.document_render(document_id=document.pk)

    document.refresh_from_db()
    assert (document.status, document.error_code) == ("failed", "render_timeout")
    assert document.error.startswith("Rendering took too long")


def test_a_render_is_sent_with_time_limits_below_its_lease(
    user, ai_response, settings, monkeypatch, django_capture_on_commit_callbacks
):
    sent: list[dict] = []
    monkeypatch.setattr(tasks.render_document, "apply_async", lambda args, **options: sent.append(options))

    with django_capture_on_commit_callbacks(execute=True):
        services.document_request(user=user, ai_response=ai_response, template="classic")
    settings.PDF_RENDER_LEASE_SECONDS = 120
    with django_capture_on_commit_callbacks(execute=True):
        services.document_request(user=user, ai_response=ai_response, template="modern")

    assert sent == [{"soft_time_limit": 45, "time_limit": 55}, {"soft_time_limit": 90, "time_limit": 110}]
