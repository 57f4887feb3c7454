from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.model_serializer import ModelSerializer, Serializer
from cv import letters
from cv.exports import FORMATS
from cv.models import CoverLetter
from cv.serializers import VerificationSerializer


class ExportQuerySerializer(Serializer):
    format = serializers.ChoiceField(choices=list(FORMATS), default="md")
    version = serializers.IntegerField(min_value=1, required=False, help_text="The version; default the latest.")


class DiffSideField(serializers.Field):
    """A version number, or ``upload`` for the uploaded CV's text."""

    default_error_messages = {"invalid": 'A version number, or "upload" for your uploaded CV.'}

    def to_internal_value(self, data):
        text = str(data).strip()
        if text == "upload":
            return text
        if text.isascii() and text.isdigit() and 0 < int(text) < 2**31:
            return int(text)
        self.fail("invalid")

    def to_representation(self, value):
        return value


class DiffQuerySerializer(Serializer):
    # "from" is a Python keyword: the field is declared by name below.
    to = DiffSideField(required=False, help_text="A version number or upload; default the latest version.")


DiffQuerySerializer._declared_fields["from"] = DiffSideField(
    required=False, help_text="A version number or upload; default upload."
)


class DiffLineSerializer(Serializer):
    op = serializers.ChoiceField(choices=["equal", "insert", "delete"])
    text = serializers.CharField()


class DiffStatsSerializer(Serializer):
    unchanged = serializers.IntegerField()
    inserted = serializers.IntegerField()
    deleted = serializers.IntegerField()
    lines_before = serializers.IntegerField()
    lines_after = serializers.IntegerField()
    similarity = serializers.FloatField(help_text="0 to 1: how much of the text stayed the same.")


class DiffSerializer(Serializer):
    lines = DiffLineSerializer(many=True)
    stats = DiffStatsSerializer()


class CoverLetterCreateSerializer(Serializer):
    tone = serializers.ChoiceField(choices=CoverLetter.Tone.choices, default=CoverLetter.Tone.FORMAL)
    version = serializers.IntegerField(
        min_value=1, required=False, help_text="The version of the improved CV to write from; default the latest."
    )
    words = serializers.IntegerField(
        min_value=letters.WORDS_MIN,
        max_value=letters.WORDS_MAX,
        default=letters.WORDS_DEFAULT,
        help_text="About how long the letter should be.",
    )


class CoverLetterSerializer(ModelSerializer):
    verification = serializers.SerializerMethodField()

    class Meta:
        model = CoverLetter
        fields = [
            "id",
            "ai_response",
            "version",
            "tone",
            "words",
            "status",
            "letter",
            "verification",
            "model",
            "error",
            "error_code",
            "stage",
            "progress",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(VerificationSerializer(allow_null=True))
    def get_verification(self, letter: CoverLetter) -> dict | None:
        return letter.verification
