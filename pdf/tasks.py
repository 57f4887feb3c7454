"""Celery entry points of the pdf app (queue `pdf` by the `pdf.tasks.*` route). Thin: call the service."""

import logging

from celery import shared_task

from pdf import services

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="pdf.tasks.render_document",
    acks_late=True,
    # Below the render lease (services.RENDER_LEASE_SECONDS), so a live task is never taken over.
    soft_time_limit=45,
    time_limit=55,
    max_retries=services.MAX_ATTEMPTS,
)
def render_document(self, document_id: int) -> str | None:
    try:
        document = services.document_render(document_id=document_id)
    except services.RenderRetryable as exc:
        raise self.retry(exc=exc, countdown=services.retry_delay(attempt=self.request.retries + 1)) from exc
    return document.status if document else None


@shared_task(name="pdf.tasks.sweep_stuck_documents")
def sweep_stuck_documents() -> int:
    """Beat (every 30 s): re-queue documents whose worker died or whose message was lost."""
    return len(services.documents_sweep_stuck())
