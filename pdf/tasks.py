"""Celery entry points of the pdf app (queue `pdf` by the `pdf.tasks.*` route). Thin: call the service."""

import logging

from celery import shared_task

from pdf import services

logger = logging.getLogger(__name__)


# Its time limits come with each message (services.render_time_limits, derived from the render lease).
@shared_task(bind=True, name="pdf.tasks.render_document", acks_late=True, max_retries=None)
def render_document(self, document_id: int) -> str | None:
    try:
        document = services.document_render(document_id=document_id)
    except services.RenderRetryable as exc:
        raise self.retry(exc=exc, countdown=exc.retry_in) from exc
    return document.status if document else None


@shared_task(name="pdf.tasks.sweep_stuck_documents")
def sweep_stuck_documents() -> int:
    """Beat (every 30 s): re-queue documents whose worker died or whose message was lost."""
    return len(services.documents_sweep_stuck())
