from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import post_delete
from django.dispatch import receiver

from cv.cleanup import RetainedData, retained_data
from pdf.models import DOCUMENTS_PREFIX, Document


@receiver(post_delete, sender=Document, dispatch_uid="pdf_document_delete_file")
def delete_document_file(sender, instance: Document, **kwargs) -> None:
    """Remove the rendered file once the row is really gone (account and data deletion rely on this).

    After commit: if the surrounding transaction rolls back, the row is back and must keep its file.
    """
    if not instance.file:
        return
    storage, name = instance.file.storage, instance.file.name
    transaction.on_commit(lambda: storage.delete(name), robust=True)


def _expired_documents(cutoff: datetime, old_responses: QuerySet) -> QuerySet[Document]:
    return Document.objects.filter(Q(created_at__lt=cutoff) | Q(ai_response__in=old_responses))


@receiver(retained_data, dispatch_uid="pdf_documents_retained_data")
def documents_retained_data(sender, **kwargs) -> RetainedData:
    """The retention clean-up takes old documents (and their files) with the analyses they render."""
    return RetainedData(
        name="documents",
        label="PDF documents",
        prefix=DOCUMENTS_PREFIX,
        expired=_expired_documents,
        files=lambda: Document.objects.exclude(file="").values_list("file", flat=True),
    )
