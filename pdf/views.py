from django.http import FileResponse
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.authentication import signed_in_user
from core.exceptions import NotFound
from core.pagination import single_page, single_page_schema
from core.throttles import WORK
from pdf import selectors, services
from pdf.models import Document
from pdf.rendering import TEMPLATES
from pdf.serializers import (
    ContentTooLargeSerializer,
    DocumentSerializer,
    GeneratePdfInputSerializer,
    TemplateSerializer,
)


class TemplateListView(APIView):
    """The looks a CV can be rendered in. Public: nothing here belongs to anyone."""

    throttle_scope = WORK

    permission_classes = [AllowAny]

    @extend_schema(responses=single_page_schema("TemplateList", TemplateSerializer))
    def get(self, request):
        templates = TemplateSerializer(TEMPLATES.values(), many=True).data
        return single_page(templates)  # type: ignore[arg-type]  # many=True gives a list; the stubs type .data as one dict


class DocumentListView(ListAPIView):
    throttle_scope = WORK
    serializer_class = DocumentSerializer

    def get_queryset(self):
        return selectors.documents_for(user=signed_in_user(self.request))


class DocumentDetailView(APIView):
    throttle_scope = WORK

    @extend_schema(responses=DocumentSerializer)
    def get(self, request, pk: int):
        document = selectors.document_get_for(user=request.user, document_id=pk)
        return Response(DocumentSerializer(document, context={"request": request}).data)


class DocumentDownloadView(APIView):
    throttle_scope = WORK

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request, pk: int):
        document = selectors.document_get_for(user=request.user, document_id=pk)
        if document.status != Document.Status.SUCCEEDED or not document.file:
            raise services.DocumentNotReady(status=document.status)
        try:
            handle = document.file.open("rb")
        except FileNotFoundError:
            raise NotFound("The file of this document is no longer available.") from None
        position = getattr(getattr(document.ai_response, "questionnaire", None), "position", "") or ""
        if document.cover_letter_id:
            filename = f"cover-letter-{slugify(position)[:60] or document.cover_letter_id}.pdf"
        else:
            filename = f"cv-{slugify(position)[:60] or 'improved'}-{document.template}.pdf"
        return FileResponse(handle, as_attachment=True, filename=filename, content_type="application/pdf")


# What a client is told about asking again (the OpenAPI description of both generate views).
_ASKING_AGAIN = (
    "Answers at once (202) with the document; a worker renders it. The same text in the same template is the "
    "same document: asked for again, it is returned as it is, a failed one included (status failed, with "
    "its error), so polling it ends at once. A failed text is rendered again only once it has changed (a "
    "new document), or when its failure was not the text's doing (the file could not be stored). A text "
    "past the size bounds is refused with 400, its `code` naming the bound (`cv_text_too_long`, "
    "`cv_word_too_long`, `cv_line_too_long`, `cv_table_too_many_rows`, `cv_table_too_many_columns`) with "
    "`limit` and `actual`. Each call counts against the plan's API calls per hour."
)
_TOO_LARGE = "The text is past a size bound (its `code` names it)."


class GeneratePdfView(APIView):
    """Render an AI response's improved CV as a PDF; answers at once (202), a worker does the rendering."""

    throttle_scope = WORK

    @extend_schema(
        request=GeneratePdfInputSerializer,
        responses={
            202: DocumentSerializer,
            # The 400 is the ValidationError one (core.schema): a field in error (the template, the version),
            # or a text past a size bound (`code`, `limit`, `actual`).
        },
        description=_ASKING_AGAIN,
    )
    def post(self, request, pk: int):
        data = GeneratePdfInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document, _ = services.document_request(
            user=request.user,
            ai_response=pk,
            template=data.validated_data.get("template"),
            version=data.validated_data.get("version"),
        )
        return Response(
            DocumentSerializer(document, context={"request": request}).data, status=status.HTTP_202_ACCEPTED
        )


class GenerateLetterPdfView(APIView):
    """Render one of your cover letters as a PDF in the letter template; answers at once (202)."""

    throttle_scope = WORK

    @extend_schema(
        request=None,
        responses={202: DocumentSerializer, 400: OpenApiResponse(ContentTooLargeSerializer, description=_TOO_LARGE)},
        description=_ASKING_AGAIN,
    )
    def post(self, request, pk: int):
        document, _ = services.letter_document_request(user=request.user, cover_letter=pk)
        return Response(
            DocumentSerializer(document, context={"request": request}).data, status=status.HTTP_202_ACCEPTED
        )
