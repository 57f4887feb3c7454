from django.urls import reverse
from rest_framework import serializers

from core.hot_path.serializers import ModelSerializer, Serializer
from core.schema import ErrorSerializer
from pdf.models import Document
from pdf.rendering import TEMPLATES


class TemplateSerializer(Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()


class DocumentSerializer(ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "ai_response",
            "cover_letter",
            "template",
            "version",
            "status",
            "error",
            "size",
            "pages",
            "download_url",
            "created_at",
        ]
        read_only_fields = fields

    def get_download_url(self, document: Document) -> str | None:
        """Absolute URL of the owner-only download endpoint, once there is a file to download."""
        if document.status != Document.Status.SUCCEEDED or not document.file:
            return None
        path = reverse("pdf:document-download", kwargs={"pk": document.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class GeneratePdfInputSerializer(Serializer):
    template = serializers.ChoiceField(choices=sorted(TEMPLATES), required=False)
    version = serializers.IntegerField(
        min_value=1, required=False, help_text="The version of the improved CV to render; default the latest."
    )


# This docstring is the OpenAPI description: it keeps the module's former name (cv.limits, now cv.intake.limits),
# so the published schema does not change for a move of code.
class ContentTooLargeSerializer(ErrorSerializer):
    """A text past a size bound of a CV's text (cv.limits): `code` names the bound."""

    limit = serializers.IntegerField(help_text="The most the bound accepts.")
    actual = serializers.IntegerField(help_text="What the text has.")
