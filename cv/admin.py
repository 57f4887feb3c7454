from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from cv import services
from cv.models import AIResponse, AIResponseVersion, CoverLetter, CVQuestionnaire


@admin.register(CVQuestionnaire)
class CVQuestionnaireAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "position", "industry", "experience_level", "resume_pages", "created_at")
    list_filter = ("experience_level", "company_size", "application_timeline")
    search_fields = ("position", "industry", "user__username", "user__email")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("resume", "resume_text", "resume_pages", "job_requirements", "created_at", "updated_at")
    date_hierarchy = "created_at"


class VerificationFilter(admin.SimpleListFilter):
    title = "truthfulness"
    parameter_name = "verification"

    def lookups(self, request, model_admin):
        return (("verified", "Verified"), ("flagged", "Flagged"), ("none", "Not checked"))

    def queryset(self, request, queryset):
        if self.value() in ("verified", "flagged"):
            return queryset.filter(verification__status=self.value())
        if self.value() == "none":
            return queryset.filter(verification__isnull=True)
        return queryset


class AIResponseVersionInline(admin.TabularInline):
    """Every version of the improved CV, read-only: nothing is ever overwritten, not even by an admin."""

    model = AIResponseVersion
    extra = 0
    can_delete = False
    show_change_link = False
    fields = ("number", "source", "based_on", "created_by", "created_at", "stats", "verification_status", "text")
    readonly_fields = fields
    ordering = ("-number",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="truthfulness")
    def verification_status(self, version: AIResponseVersion) -> str:
        return (version.verification or {}).get("status") or "-"

    @admin.display(description="improved CV")
    def text(self, version: AIResponseVersion) -> str:
        return format_html(
            "<pre style='white-space: pre-wrap; max-height: 20em; overflow: auto'>{}</pre>", version.improved_cv
        )


@admin.register(AIResponse)
class AIResponseAdmin(admin.ModelAdmin):
    inlines = [AIResponseVersionInline]
    list_display = (
        "id",
        "user",
        "questionnaire",
        "status",
        "verification_status",
        "model",
        "attempts",
        "error_code",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", VerificationFilter, "model", "error_code")
    search_fields = ("user__username", "user__email", "questionnaire__position", "error")
    list_select_related = ("user", "questionnaire")
    raw_id_fields = ("user", "questionnaire")
    readonly_fields = (
        "status", "version", "improved_cv", "changes", "match_report", "verification", "unsupported_claims", "model",
        "prompt_tokens", "completion_tokens", "error", "error_code", "attempts", "lease_expires_at", "quota_day",
        "created_at", "enqueued_at", "started_at", "finished_at",
    )  # fmt: skip
    date_hierarchy = "created_at"
    actions = ["run_again"]

    @admin.display(description="truthfulness")
    def verification_status(self, response: AIResponse) -> str:
        verification = response.verification or {}
        status = verification.get("status")
        if status == "flagged":
            return f"flagged ({len(verification.get('unsupported') or [])})"
        return status or "-"

    @admin.display(description="verification")
    def unsupported_claims(self, response: AIResponse) -> str:
        verification = response.verification
        if not verification:
            return "Not checked (the analysis has not succeeded)."
        claims = verification.get("unsupported") or []
        if not claims:
            return "Verified: every claim is backed by the CV or the request."
        items = format_html_join("", "<li>{}: {}</li>", ((c.get("kind"), c.get("text")) for c in claims))
        return format_html("Flagged, not backed by the CV or the request:<ul>{}</ul>", items)

    @admin.action(description="Run the analysis again")
    def run_again(self, request, queryset):
        count = 0
        for response in queryset:
            services.ai_response_run_again(response=response)
            count += 1
        self.message_user(request, f"{count} analyses queued again.", messages.SUCCESS)


@admin.register(CoverLetter)
class CoverLetterAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "ai_response", "tone", "words", "status", "model", "attempts", "created_at")
    list_filter = ("status", "tone", "model", "error_code")
    search_fields = ("user__username", "user__email", "ai_response__questionnaire__position", "error")
    list_select_related = ("user", "ai_response")
    raw_id_fields = ("user", "ai_response")
    readonly_fields = (
        "status", "letter", "verification", "model", "error", "error_code", "attempts", "lease_expires_at",
        "quota_day", "created_at", "enqueued_at", "started_at", "finished_at",
    )  # fmt: skip
    date_hierarchy = "created_at"
