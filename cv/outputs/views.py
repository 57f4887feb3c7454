"""HTTP views beyond the PDF: the improved CV in other formats, what the rewrite changed, cover letters."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from core.authentication import signed_in_user
from core.throttles import WORK
from cv import selectors
from cv.letters import services as letters
from cv.models import CoverLetter
from cv.outputs import diff, exports
from cv.outputs.serializers import (
    CoverLetterCreateSerializer,
    CoverLetterSerializer,
    DiffQuerySerializer,
    DiffSerializer,
    ExportQuerySerializer,
)


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


class AIResponseCoverLetterView(APIView):
    """Write a cover letter from one of your succeeded analyses, for its job. Answers 202 at once; a worker
    writes it (one unit of the daily AI quota). Poll the letter for the result."""

    throttle_scope = WORK

    @extend_schema(
        request=CoverLetterCreateSerializer,
        responses={202: CoverLetterSerializer},
    )
    def post(self, request, pk: int):
        data = CoverLetterCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        letter = letters.cover_letter_create(
            user=request.user,
            ai_response_id=pk,
            tone=data.validated_data["tone"],
            words=data.validated_data["words"],
            version=data.validated_data.get("version"),
        )
        return Response(CoverLetterSerializer(letter).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("ai_response", int, description="Only the letters of this analysis.")]
    )
)
class CoverLetterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's own cover letters."""

    throttle_scope = WORK

    serializer_class = CoverLetterSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CoverLetter.objects.none()
        letters_of = selectors.cover_letters_for(user=signed_in_user(self.request))
        ai_response = self.request.query_params.get("ai_response") if self.action == "list" else None
        if ai_response is not None:
            if not (ai_response.isascii() and ai_response.isdigit()):
                raise ValidationError({"ai_response": ["An AI response id is a whole number."]})
            letters_of = letters_of.filter(ai_response_id=int(ai_response))
        return letters_of
