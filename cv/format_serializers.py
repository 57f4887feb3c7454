from rest_framework import serializers

from cv.exports import FORMATS


class ExportQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=list(FORMATS), default="md")


class DiffLineSerializer(serializers.Serializer):
    op = serializers.ChoiceField(choices=["equal", "insert", "delete"])
    text = serializers.CharField()


class DiffStatsSerializer(serializers.Serializer):
    unchanged = serializers.IntegerField()
    inserted = serializers.IntegerField()
    deleted = serializers.IntegerField()
    lines_before = serializers.IntegerField()
    lines_after = serializers.IntegerField()
    similarity = serializers.FloatField(help_text="0 to 1: how much of the text stayed the same.")


class DiffSerializer(serializers.Serializer):
    lines = DiffLineSerializer(many=True)
    stats = DiffStatsSerializer()
