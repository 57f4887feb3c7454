"""Serializers of the improved CV's other formats and of the diff."""

from rest_framework import serializers

from core.hot_path.serializers import Serializer
from cv.outputs.exports import FORMATS


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
