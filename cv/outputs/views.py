"""HTTP views beyond the PDF: the improved CV in other formats and what the rewrite changed."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from core.throttles import WORK
from cv import selectors
from cv.outputs import diff, exports
from cv.outputs.serializers import DiffQuerySerializer, DiffSerializer, ExportQuerySerializer


class IgnoreFormatParameter(DefaultContentNegotiation):
    """``?format=`` names the file format of an export here, not DRF's renderer; errors are always JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class AIResponseExportView(APIView):
    """Download the improved CV of one of your AI responses as Markdown, plain text, Word or JSON Resume."""

    throttle_scope = WORK

    content_negotiation_class = IgnoreFormatParameter

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=list(exports.FORMATS),
                description="md (Markdown), txt (plain text), docx (Word) or json (JSON Resume 1.0). Default md.",
            ),
            OpenApiParameter("version", int, description="The version of the improved CV; default the latest."),
        ],
        responses={
            (200, content_type.split(";")[0]): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")
            for content_type in exports.FORMATS.values()
        }
        | {409: OpenApiResponse(description="The AI response has not succeeded (code ai_response_not_ready).")}
        | {404: OpenApiResponse(description="No such AI response, or it has no such version (version_not_found).")},
    )
    def get(self, request, pk: int):
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        response = selectors.ai_response_get_for(user=request.user, response_id=pk)
        export = exports.export_ai_response(
            response=response, fmt=query.validated_data["format"], version=query.validated_data.get("version")
        )
        answer = HttpResponse(export.content, content_type=export.content_type)
        answer["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        answer["X-Content-Type-Options"] = "nosniff"
        return answer


class AIResponseDiffView(APIView):
    """Line by line, what the rewrite changed between your uploaded CV's text and the improved CV."""

    throttle_scope = WORK

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="A version number, or upload (the default)."),
            OpenApiParameter("to", str, description="A version number (default the latest), or upload."),
        ],
        responses={200: DiffSerializer},
    )
    def get(self, request, pk: int):
        query = DiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        response = selectors.ai_response_get_for(user=request.user, response_id=pk)
        sides = query.validated_data
        return Response(
            diff.ai_response_diff(response=response, before=sides.get("from", diff.UPLOAD), after=sides.get("to"))
        )
