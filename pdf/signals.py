from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from pdf.models import Document


@receiver(post_delete, sender=Document, dispatch_uid="pdf_document_delete_file")
def delete_document_file(sender, instance: Document, **kwargs) -> None:
    """Remove the rendered file once the row is really gone (account and data deletion rely on this).

    After commit: if the surrounding transaction rolls back, the row is back and must keep its file.
    """
    if not instance.file:
        return
    storage, name = instance.file.storage, instance.file.name
    transaction.on_commit(lambda: storage.delete(name), robust=True)
