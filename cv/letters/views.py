"""HTTP views of cover letters: ask for one from an analysis, list and read one's own."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.authentication import signed_in_user
from core.throttles import WORK
from cv import selectors
from cv.letters import services as letters
from cv.letters.serializers import CoverLetterCreateSerializer, CoverLetterSerializer
from cv.models import CoverLetter


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
