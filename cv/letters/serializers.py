"""Serializers of cover letters: the request for one and the letter as read."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.hot_path.serializers import ModelSerializer, Serializer
from cv.letters import services as letters
from cv.models import CoverLetter
from cv.serializers import JOB_STATE_FIELDS, VerificationSerializer


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
            *JOB_STATE_FIELDS,
        ]
        read_only_fields = fields

    @extend_schema_field(VerificationSerializer(allow_null=True))
    def get_verification(self, letter: CoverLetter) -> dict | None:
        return letter.verification
