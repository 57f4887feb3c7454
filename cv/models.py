import uuid

from django.conf import settings
from django.db import models

RESUME_PREFIX = "cvs"
# What a person says about the job they apply for: the questionnaire's writable fields, and all the
# analysers may know (never anything about the person): cv.scoring.job.Job holds them for every step.
JOB_FIELDS = (
    "position",
    "industry",
    "experience_level",
    "company_size",
    "location",
    "application_timeline",
    "job_description",
)


def progress_field() -> models.FloatField:
    """The share of a running job's answer written so far (cv.progress), on analyses and cover letters alike."""
    return models.FloatField(
        null=True,
        blank=True,
        editable=False,
        help_text=(
            "While a streaming model writes: the share of the answer written so far (0 to 0.99); 1.0 once "
            "succeeded; null before the first piece or with a server that does not stream."
        ),
    )


class Stage(models.TextChoices):
    """What a running analysis or letter is doing now, shown to the person while they wait."""

    QUEUED = "queued", "Queued"
    READING_JOB = "reading the job", "Reading the job"
    WRITING = "writing", "Writing"
    CHECKING = "checking", "Checking"
    REPAIRING = "repairing", "Repairing"
    DONE = "done", "Done"


def resume_upload_to(questionnaire: "CVQuestionnaire", filename: str) -> str:
    # A random name, whatever the uploaded file was called: never guessable, never reused, never a path the
    # person chose. The extension is the one the content was checked to be (PDF or Word).
    extension = "docx" if filename.endswith(".docx") else "pdf"
    return f"{RESUME_PREFIX}/{questionnaire.user_id}/{uuid.uuid4().hex}.{extension}"


class CVQuestionnaire(models.Model):
    """The job a person applies for, and the CV they want to improve for it."""

    class ExperienceLevel(models.TextChoices):
        JUNIOR = "0-2", "0-2 years"
        MID = "3-5", "3-5 years"
        SENIOR = "6+", "6+ years"

    class CompanySize(models.TextChoices):
        STARTUP = "startup", "Startup"
        SMALL = "small", "Small"
        MEDIUM = "medium", "Medium"
        ENTERPRISE = "enterprise", "Enterprise"

    class ApplicationTimeline(models.TextChoices):
        IMMEDIATE = "immediate", "Immediate"
        ONE_TO_THREE_MONTHS = "1-3 months", "1-3 months"
        THREE_TO_SIX_MONTHS = "3-6 months", "3-6 months"
        LATER = "6+ months", "6+ months"

    # db_index=False here and on the other models with a (user, -created_at) index: that index leads with the
    # user and serves every lookup by it, so a second index on the user alone would only slow the writes.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cv_questionnaires", db_index=False
    )
    position = models.CharField(max_length=200)
    industry = models.CharField(max_length=200, blank=True)
    experience_level = models.CharField(max_length=8, choices=ExperienceLevel.choices, blank=True)
    company_size = models.CharField(max_length=16, choices=CompanySize.choices, blank=True)
    location = models.CharField(max_length=200, blank=True)
    application_timeline = models.CharField(max_length=16, choices=ApplicationTimeline.choices, blank=True)
    # Its bound is CV_JOB_DESCRIPTION_MAX_CHARS, checked where it enters (cv.serializers), not here.
    job_description = models.TextField(blank=True)
    resume = models.FileField(upload_to=resume_upload_to, max_length=255, blank=True)
    resume_text = models.TextField(blank=True, help_text="Text extracted from the uploaded PDF.")
    resume_pages = models.PositiveSmallIntegerField(null=True, blank=True)
    job_requirements = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text=(
            # Written in migration 0007 and shown in the schema: keeps the module's former name
            # (now cv.llm.requirements).
            "The model's reading of the job (cv.requirements): {job_sha256, cv_sha256, model, requirements: "
            "[{term, kind, importance, job_quote, cv_evidence}]}, reused while the job and CV texts are unchanged."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "CV questionnaire"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="cv_questionnaire_user_recent")]

    def __str__(self) -> str:
        return f"{self.position} ({self.user_id})"


class AIResponse(models.Model):
    """One analysis of a questionnaire's CV. The row is the truth about the job, not Celery's result."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    questionnaire = models.ForeignKey(CVQuestionnaire, on_delete=models.CASCADE, related_name="ai_responses")
    # The owner again (same as questionnaire.user): lists and ownership checks filter on it without a join.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ai_responses", db_index=False
    )
    prompt = models.TextField(blank=True, help_text="The person's request.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stage = models.CharField(
        max_length=20, choices=Stage.choices, default=Stage.QUEUED, help_text="What the job is doing now."
    )
    progress = progress_field()
    improved_cv = models.TextField(blank=True, help_text="Markdown.")
    changes = models.JSONField(default=list, blank=True)
    match_report = models.JSONField(null=True, blank=True)
    verification = models.JSONField(
        null=True,
        blank=True,
        help_text='The truthfulness check: {status: "verified" | "flagged", unsupported: [{kind, text}]}.',
    )
    model = models.CharField(max_length=100, blank=True, help_text="The model that answered, or 'offline'.")
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="A running job whose lease passed has lost its worker."
    )
    lease_token = models.UUIDField(
        null=True, blank=True, editable=False, help_text="Identifies the run that holds the job; only it may finish it."
    )
    quota_day = models.DateField(null=True, blank=True, help_text="The day whose AI quota unit this job took.")
    # improved_cv, match_report and verification above are those of this version (cv.versions.services keeps them so):
    # every reader of a response reads its latest version without a join.
    version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The number of the latest version; none until the analysis succeeded."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="Last time a run was queued.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "AI response"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="cv_airesponse_user_recent"),
            models.Index(fields=["status", "lease_expires_at"], name="cv_airesponse_status_lease"),
        ]

    def __str__(self) -> str:
        return f"AI response {self.pk} ({self.status})"


class AIResponseVersion(models.Model):
    """One version of an AI response's improved CV. Never changed once written: an edit or a restore is a new
    version, and the response reads as its latest (cv.versions.services)."""

    class Source(models.TextChoices):
        MODEL = "model", "The model's answer"
        REPAIR = "repair", "The model's repair round"
        PERSON = "person", "The person's edit"
        RESTORE = "restore", "A restored earlier version"

    response = models.ForeignKey(AIResponse, on_delete=models.CASCADE, related_name="versions", db_index=False)
    number = models.PositiveIntegerField()
    source = models.CharField(max_length=16, choices=Source.choices)
    based_on = models.PositiveIntegerField(
        null=True, blank=True, help_text="The version this one was edited from or restores."
    )
    improved_cv = models.TextField(blank=True, help_text="Markdown.")
    match_report = models.JSONField(null=True, blank=True)
    verification = models.JSONField(null=True, blank=True)
    person_lines = models.JSONField(
        default=list, blank=True, help_text="The lines of this version the person wrote (their own claims)."
    )
    stats = models.JSONField(
        default=dict, blank=True, help_text="What a list shows: size, score_after and the verification's counts."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "AI response version"
        ordering = ["response", "number"]
        constraints = [
            models.UniqueConstraint(fields=["response", "number"], name="cv_airesponseversion_unique_number"),
        ]

    def __str__(self) -> str:
        return f"Version {self.number} of AI response {self.response_id} ({self.source})"


class CoverLetter(models.Model):
    """A cover letter written from one analysis's CV for its questionnaire's job. A job like the analysis:
    the row is the truth (status, letter, error), and it costs one unit of the daily AI quota."""

    class Tone(models.TextChoices):
        FORMAL = "formal", "Formal"
        WARM = "warm", "Warm"
        DIRECT = "direct", "Direct"

    class Status(models.TextChoices):  # its own, as every job kind's (core.jobs): a letter may grow a state
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    ai_response = models.ForeignKey(AIResponse, on_delete=models.CASCADE, related_name="cover_letters")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cover_letters", db_index=False
    )
    tone = models.CharField(max_length=16, choices=Tone.choices, default=Tone.FORMAL)
    words = models.PositiveSmallIntegerField(default=300, help_text="The length asked for, in words.")
    version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The version of the improved CV the letter is written from."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stage = models.CharField(
        max_length=20, choices=Stage.choices, default=Stage.QUEUED, help_text="What the job is doing now."
    )
    progress = progress_field()
    letter = models.TextField(blank=True, help_text="Markdown.")
    verification = models.JSONField(
        null=True, blank=True, help_text="The truthfulness check of the letter against the person's CV."
    )
    model = models.CharField(max_length=100, blank=True, help_text="The model that wrote it, or 'offline'.")
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    quota_day = models.DateField(null=True, blank=True, help_text="The day whose AI quota unit this letter took.")
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="cv_coverletter_user_recent"),
            models.Index(fields=["status", "lease_expires_at"], name="cv_coverletter_status_lease"),
        ]

    def __str__(self) -> str:
        return f"Cover letter {self.pk} ({self.status})"
