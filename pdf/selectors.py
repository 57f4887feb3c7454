"""Reads of the pdf app. Every document read is scoped to its owner."""

from django.db.models import QuerySet

from core.exceptions import NotFound
from core.models import User
from pdf.models import Document


def documents_for(*, user: User) -> QuerySet[Document]:
    return Document.objects.filter(user=user).order_by("-created_at", "-id")


def document_get_for(*, user: User, document_id: int) -> Document:
    """The user's document; another user's is indistinguishable from a missing one (404)."""
    document = documents_for(user=user).select_related("ai_response__questionnaire").filter(pk=document_id).first()
    if document is None:
        raise NotFound("Document not found.")
    return document
