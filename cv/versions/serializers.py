"""The shapes of an AI response's versions (cv.versions.services) in the API."""

from rest_framework import serializers

from core.hot_path.serializers import ModelSerializer, Serializer
from core.schema import ErrorSerializer
from cv.models import AIResponseVersion
from cv.serializers import MatchReportSerializer, VerificationSerializer


class AIResponseEditSerializer(Serializer):
    improved_cv = serializers.CharField(
        allow_blank=False,
        trim_whitespace=False,
        help_text="The whole improved CV in Markdown, as the person edited it. The bounds of a CV apply.",
    )
    base_version = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="The version the edit was made on; if it is no longer the latest the answer is 409 with the "
        "latest. Required unless an If-Match header names it.",
    )


class VersionStatsSerializer(Serializer):
    characters = serializers.IntegerField()
    lines = serializers.IntegerField()
    score_after = serializers.IntegerField(allow_null=True, help_text="The match report's score of this version.")
    verification = serializers.CharField(allow_null=True, help_text="verified or flagged; null when not checked.")
    unsupported = serializers.IntegerField(help_text="How many claims of this version are flagged.")
    missing = serializers.IntegerField(help_text="How many facts of the uploaded CV the model lost.")


class AIResponseVersionListSerializer(ModelSerializer):
    stats = VersionStatsSerializer(read_only=True)

    class Meta:
        model = AIResponseVersion
        fields = ["number", "source", "based_on", "created_at", "stats"]
        read_only_fields = fields


class AIResponseVersionSerializer(ModelSerializer):
    stats = VersionStatsSerializer(read_only=True)
    match_report = MatchReportSerializer(read_only=True, allow_null=True)
    verification = VerificationSerializer(read_only=True, allow_null=True)

    class Meta:
        model = AIResponseVersion
        fields = ["number", "source", "based_on", "created_at", "stats", "improved_cv", "match_report", "verification"]
        read_only_fields = fields


class LatestVersionSerializer(Serializer):
    version = serializers.IntegerField()
    improved_cv = serializers.CharField()
    match_report = MatchReportSerializer(allow_null=True)
    verification = VerificationSerializer(allow_null=True)


class VersionConflictSerializer(ErrorSerializer):
    """The edit was made on a version that is no longer the latest: nothing was saved."""

    latest = LatestVersionSerializer(help_text="The latest version, to apply the edit to.")


class TooManyVersionsSerializer(ErrorSerializer):
    limit = serializers.IntegerField(help_text="The most versions a response keeps.")
