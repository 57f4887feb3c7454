from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.model_serializer import ModelSerializer, Serializer
from cv import letters
from cv.exports import FORMATS
from cv.models import CoverLetter
from cv.serializers import VerificationSerializer


class ExportQuerySerializer(Serializer):
    format = serializers.ChoiceField(choices=list(FORMATS), default="md")


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
            "tone",
            "words",
            "status",
            "letter",
            "verification",
            "model",
            "error",
            "error_code",
            "stage",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(VerificationSerializer(allow_null=True))
    def get_verification(self, letter: CoverLetter) -> dict | None:
        return letter.verification
