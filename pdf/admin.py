from django.contrib import admin, messages

from pdf import services
from pdf.models import Document


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = [
        "id", "user", "ai_response", "template", "status", "error_code", "pages", "size", "attempts", "created_at"
    ]  # fmt: skip
    list_filter = ["status", "error_code", "template", "created_at"]
    search_fields = ["id", "user__email", "user__username", "error"]
    list_select_related = ["user", "ai_response"]
    raw_id_fields = ["user", "ai_response"]
    date_hierarchy = "created_at"
    # The stored path is shown as text: the stock FileField widget would link to a URL that serves nothing.
    exclude = ["file"]
    readonly_fields = [
        "stored_file",
        "size",
        "pages",
        "content_hash",
        "error_code",
        "attempts",
        "created_at",
        "enqueued_at",
        "started_at",
        "finished_at",
    ]
    actions = ["rerender"]

    @admin.display(description="file")
    def stored_file(self, document: Document) -> str:
        return document.file.name or "-"

    @admin.action(description="Re-render the selected documents")
    def rerender(self, request, queryset):
        for document in queryset:
            services.document_rerender(document=document)
        self.message_user(request, f"{queryset.count()} document(s) queued for rendering.", messages.SUCCESS)
