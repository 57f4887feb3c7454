import html
import re
from typing import cast

import nh3
from django.conf import settings
from django.core.validators import MaxLengthValidator
from rest_framework import serializers

from core.hot_path.compiled_lookup import CompiledLookup
from core.hot_path.serializers import ModelSerializer, Serializer
from core.text import clean_text
from cv.models import JOB_FIELDS, AIResponse, AIResponseVersion, CVQuestionnaire
from cv.scoring import keywords
from cv.scoring.verdict import FLAGGED, KINDS, VERIFIED

PROMPT_MAX = 2000
_BLOCK_END = re.compile(r"<\s*(?:br|/p|/li|/div|/h[1-6]|/tr|/ul|/ol|/blockquote)\b[^>]*>", re.IGNORECASE)


def strip_html(value: str) -> str:
    """Plain text from what may be pasted HTML: tags removed (script/style with their content), entities
    decoded, block ends kept as line breaks. Repeated until stable, so escaped markup cannot survive.

    Cleaned (core.text) before, since the sanitiser cannot encode a lone surrogate, and after, since it
    decodes a character reference such as ``&#1;`` to the control character itself."""
    value = clean_text(value)
    for _ in range(3):
        cleaned = html.unescape(nh3.clean(_BLOCK_END.sub(lambda m: m.group(0) + "\n", value), tags=set()))
        if cleaned == value:
            break
        value = cleaned
    return re.sub(r"[ \t]+\n", "\n", clean_text(value)).strip()


# What a client reads of a model job's row, analysis or cover letter, in this order.
JOB_STATE_FIELDS = ("model", "error", "error_code", "stage", "progress", "created_at", "started_at", "finished_at")


class PlainTextField(serializers.CharField):
    """A CharField whose HTML is stripped before its length is checked."""

    def to_internal_value(self, data):
        return super().to_internal_value(strip_html(str(data)) if isinstance(data, str) else data)


class MaxLengthSetting(MaxLengthValidator):
    """A text's length bound that is a setting, read at each validation and by the OpenAPI schema (its
    ``maxLength``), so the bound lives in settings only. Its error is DRF's own ``max_length``."""

    message = "Ensure this field has no more than %(limit_value)d characters."

    def __init__(self, setting: str) -> None:  # no super().__init__: the limit is read, never stored
        self.setting = setting

    @property
    def limit_value(self) -> int:
        return getattr(settings, self.setting)


class QuestionnaireSerializer(ModelSerializer):
    position = PlainTextField(max_length=200)
    industry = PlainTextField(max_length=200, required=False, allow_blank=True)
    location = PlainTextField(max_length=200, required=False, allow_blank=True)
    job_description = PlainTextField(
        required=False, allow_blank=True, validators=[MaxLengthSetting("CV_JOB_DESCRIPTION_MAX_CHARS")]
    )
    # The file itself is never served back; the answer says whether there is one and what was read from it.
    resume = serializers.FileField(write_only=True, required=False, allow_empty_file=True, use_url=False)
    resume_from = serializers.IntegerField(
        write_only=True,
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text="Instead of a file, on creation: the id of another of your questionnaires whose CV this one "
        "uses (already checked: no upload unit, the file is shared, not copied).",
    )
    has_resume = serializers.SerializerMethodField()

    class Meta:
        model = CVQuestionnaire
        fields = [
            "id",
            *JOB_FIELDS,
            "resume",
            "resume_from",
            "has_resume",
            "resume_pages",
            "resume_text",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "resume_pages", "resume_text", "created_at", "updated_at"]

    def get_has_resume(self, questionnaire: CVQuestionnaire) -> bool:
        return bool(questionnaire.resume)


class QuestionnaireListSerializer(QuestionnaireSerializer):
    """The list leaves out the extracted CV text (it can be long)."""

    class Meta(QuestionnaireSerializer.Meta):
        fields = [f for f in QuestionnaireSerializer.Meta.fields if f not in ("resume", "resume_from", "resume_text")]


class UnsupportedClaimSerializer(Serializer):
    kind = serializers.ChoiceField(choices=KINDS, read_only=True)
    text = serializers.CharField(read_only=True, help_text="The claim as the improved CV states it.")
    # Said by the flagged claims of an AI response's versions (cv.versions.services); not by missing facts or letters.
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a field named "source", not Field.source
        choices=AIResponseVersion.Source.choices,
        read_only=True,
        required=False,
        help_text="Who wrote the claim: the model, its repair round (a claim in a line the person wrote is "
        "theirs and never flagged).",
    )
    introduced_in = serializers.IntegerField(
        read_only=True, required=False, help_text="The version of the improved CV the claim first appeared in."
    )


class VerificationSerializer(Serializer):
    """The truthfulness check of the improved CV against the uploaded CV and the person's request."""

    status = serializers.ChoiceField(choices=(VERIFIED, FLAGGED), read_only=True)
    unsupported = UnsupportedClaimSerializer(
        many=True, read_only=True, help_text="Claims of the improved CV that nothing the person gave supports."
    )
    missing = UnsupportedClaimSerializer(
        many=True,
        read_only=True,
        required=False,
        help_text="Employers, titles, date ranges, degrees and certifications of the uploaded CV that the "
        "improved CV no longer states (and the person did not ask to drop).",
    )


class KeywordDetailSerializer(Serializer):
    """Why the match report says what it says about one of the job's keywords."""

    term = serializers.CharField(read_only=True)
    kind = serializers.ChoiceField(choices=keywords.KINDS, read_only=True)
    importance = serializers.ChoiceField(choices=keywords.IMPORTANCE, read_only=True)
    job_quote = serializers.CharField(read_only=True, help_text="The job's own words that ask for the keyword.")
    cv_evidence = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The CV's own words that show the keyword (an exact quote); null when the CV does not show it.",
    )


class MatchKeywordsSerializer(Serializer):
    found = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Keywords of the job the uploaded CV shows."
    )
    missing = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Keywords of the job the uploaded CV lacks."
    )
    added = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Missing keywords the improved CV now shows, backed by what the person gave.",
    )
    unsupported = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Missing keywords the improved CV shows that nothing the person gave backs.",
    )
    kinds = serializers.DictField(
        child=serializers.ChoiceField(choices=keywords.KINDS), read_only=True, help_text="The kind of each keyword."
    )
    # Reports stored before the details existed have none: the field is left out for them.
    details = KeywordDetailSerializer(many=True, read_only=True, required=False)


class MatchSectionsSerializer(Serializer):
    contact = serializers.BooleanField(read_only=True)
    summary = serializers.BooleanField(read_only=True)
    experience = serializers.BooleanField(read_only=True)
    education = serializers.BooleanField(read_only=True)
    skills = serializers.BooleanField(read_only=True)
    quantified_achievements = serializers.BooleanField(read_only=True)


# This docstring is the OpenAPI description: it keeps the module's former name (cv.matching, now cv.scoring.matching),
# so the published schema does not change for a move of code.
class MatchReportSerializer(Serializer):
    """The match report of the uploaded CV against the job, and of the improved CV (``cv.matching``)."""

    score_before = serializers.IntegerField(read_only=True, min_value=0, max_value=100)
    score_after = serializers.IntegerField(read_only=True, min_value=0, max_value=100)
    keywords = MatchKeywordsSerializer(read_only=True)
    sections = MatchSectionsSerializer(read_only=True)


class AIResponseSerializer(ModelSerializer):
    # None until the analysis has succeeded.
    verification = VerificationSerializer(read_only=True, allow_null=True)
    match_report = MatchReportSerializer(read_only=True, allow_null=True)

    class Meta:
        model = AIResponse
        fields = [
            "id",
            "questionnaire",
            "prompt",
            "status",
            "improved_cv",
            "changes",
            "match_report",
            "verification",
            "version",
            *JOB_STATE_FIELDS,
        ]
        read_only_fields = fields
        extra_kwargs = {"version": {"help_text": "The number of the version shown (the latest); null until succeeded."}}


# Every analysis request looks its questionnaire up by id: the SQL is compiled once.
_questionnaires = CompiledLookup(lambda: CVQuestionnaire.objects.all())
_BIGINT_MAX = 2**63 - 1


class OwnQuestionnaireField(serializers.PrimaryKeyRelatedField):
    """A questionnaire of the person `owner_id` by id. Another person's is indistinguishable from one that
    does not exist; the messages are DRF's own."""

    def __init__(self, **kwargs):
        super().__init__(queryset=CVQuestionnaire.objects.none(), **kwargs)
        self.owner_id: int | None = None

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            pk = int(data)
        except ValueError:
            self.fail("incorrect_type", data_type=type(data).__name__)
        questionnaire = _questionnaires.get(pk) if 0 < pk <= _BIGINT_MAX else None
        if questionnaire is None or questionnaire.user_id != self.owner_id:
            self.fail("does_not_exist", pk_value=data)
        return questionnaire


class AIResponseCreateSerializer(Serializer):
    questionnaire = OwnQuestionnaireField()
    prompt = PlainTextField(max_length=PROMPT_MAX, required=False, allow_blank=True, default="")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        cast(OwnQuestionnaireField, self.fields["questionnaire"]).owner_id = user.pk if user is not None else None
