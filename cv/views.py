from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from core.authentication import signed_in_user
from core.hot_path.list_pages import cached_page
from core.parsers import JSONParser
from core.throttles import WORK
from cv import selectors, services
from cv.models import AIResponse, CVQuestionnaire
from cv.serializers import (
    AIResponseCreateSerializer,
    AIResponseSerializer,
    QuestionnaireListSerializer,
    QuestionnaireSerializer,
)
from cv.versions.views import AIResponseEditMixin


class QuestionnaireViewSet(viewsets.ModelViewSet):
    """The caller's own questionnaires. JSON, or multipart with the CV as `resume` (a PDF)."""

    throttle_scope = WORK

    parser_classes = [JSONParser, MultiPartParser, FormParser]
    serializer_class = QuestionnaireSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return CVQuestionnaire.objects.none()
        return selectors.questionnaires_for(user=signed_in_user(self.request), with_cv_text=self.action != "list")

    def get_serializer_class(self):
        return QuestionnaireListSerializer if self.action == "list" else QuestionnaireSerializer

    def list(self, request, *args, **kwargs):
        # Read on every visit to the dashboard, changed a few times a day: the page is cached per version.
        def build():
            return super(QuestionnaireViewSet, self).list(request, *args, **kwargs).data

        return cached_page(request, name="questionnaires", build=build)

    def _validated(self, serializer) -> tuple[dict, UploadedFile | None]:
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        return data, data.pop("resume", None)

    def create(self, request, *args, **kwargs):
        data, upload = self._validated(self.get_serializer(data=request.data))
        questionnaire = services.questionnaire_create(
            user=request.user, data=data, upload=upload, resume_from=data.pop("resume_from", None)
        )
        return Response(QuestionnaireSerializer(questionnaire).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        questionnaire = self.get_object()
        serializer = self.get_serializer(questionnaire, data=request.data, partial=kwargs.get("partial", False))
        data, upload = self._validated(serializer)
        if data.pop("resume_from", None) is not None:
            raise ValidationError({"resume_from": ["A questionnaire takes another's CV only when it is created."]})
        questionnaire = services.questionnaire_update(questionnaire=questionnaire, data=data, upload=upload)
        return Response(QuestionnaireSerializer(questionnaire).data)

    def perform_destroy(self, instance):
        services.questionnaire_delete(questionnaire=instance)


# This docstring is the OpenAPI description: it keeps the module's former name (cv.views_versions,
# now cv.versions.views), so the published schema does not change for a move of code.
@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("questionnaire", int, description="Only the analyses of this questionnaire.")]
    )
)
class AIResponseViewSet(AIResponseEditMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's own analyses. POST queues one and answers 202 at once; poll the row for the result. PATCH
    saves the person's edit of the improved CV as its next version (cv.views_versions)."""

    throttle_scope = WORK

    serializer_class = AIResponseSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AIResponse.objects.none()
        questionnaire = self.request.query_params.get("questionnaire") if self.action == "list" else None
        if questionnaire is not None and not (questionnaire.isascii() and questionnaire.isdigit()):
            raise ValidationError({"questionnaire": ["A questionnaire id is a whole number."]})
        return selectors.ai_responses_for(
            user=signed_in_user(self.request), questionnaire_id=int(questionnaire) if questionnaire else None
        )

    @extend_schema(request=AIResponseCreateSerializer, responses={202: AIResponseSerializer})
    def create(self, request, *args, **kwargs):
        serializer = AIResponseCreateSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        response = services.ai_response_create(
            user=request.user,
            questionnaire=serializer.validated_data["questionnaire"],
            prompt=serializer.validated_data["prompt"],
        )
        return Response(AIResponseSerializer(response).data, status=status.HTTP_202_ACCEPTED)
