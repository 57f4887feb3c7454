import uuid

from django.conf import settings
from django.db import models

DOCUMENTS_PREFIX = "documents"


def document_upload_to(document: "Document", filename: str) -> str:
    # A random name per rendering: never guessable, never the path of another file (the uploaded CV
    # or an earlier rendering), so nothing is overwritten.
    return f"{DOCUMENTS_PREFIX}/{document.user_id}/{uuid.uuid4().hex}.pdf"


class Document(models.Model):
    """One PDF rendering of an AI response's improved CV (or of a cover letter) in one template.

    The file lives in the default storage under a path no URL serves; only the owner-checked download
    view streams it.
    """

    # The same life cycle (and values) as the analysis it renders: pending -> running -> succeeded | failed.
    # The OpenAPI schema names both JobStatusEnum (SPECTACULAR_SETTINGS matches an enum by its choices).
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    # db_index=False: the (user, -created_at) index and the unique (ai_response, template, content_hash) one
    # lead with these columns and serve every lookup by them.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pdf_documents", db_index=False
    )
    ai_response = models.ForeignKey(
        "cv.AIResponse", on_delete=models.CASCADE, related_name="pdf_documents", db_index=False
    )
    # Set when the document is a cover letter (written from ``ai_response``) rather than the improved CV.
    cover_letter = models.ForeignKey(
        "cv.CoverLetter", on_delete=models.CASCADE, null=True, blank=True, related_name="pdf_documents"
    )
    template = models.CharField(max_length=32)
    # The version of the improved CV rendered (cv.versions.services): the worker renders exactly the text it was asked
    # for, even when the person saves another version meanwhile. None for a cover letter.
    version = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to=document_upload_to, max_length=255, blank=True)
    size = models.PositiveIntegerField(null=True, blank=True, help_text="Bytes.")
    pages = models.PositiveIntegerField(null=True, blank=True)
    content_hash = models.CharField(
        max_length=64, help_text="sha256 of the template and the Markdown rendered; identical requests share it."
    )
    error = models.TextField(blank=True)
    # Why it failed (pdf.services.FAILURES): whether asking again for the same text may render it again.
    error_code = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_token = models.UUIDField(
        null=True, blank=True, editable=False, help_text="The render that holds the job; only it may finish it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="Last time a render was queued.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ai_response", "template", "content_hash"], name="pdf_document_unique_rendering"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="pdf_document_user_recent"),
            models.Index(fields=["status", "started_at"], name="pdf_document_status_started"),
        ]

    def __str__(self) -> str:
        return f"Document {self.pk} ({self.template}, {self.status})"
