"""HTTP views of an AI response's versions (cv.versions.services): the person's edit (PATCH on the response), the list
of versions, one version, and restoring one. Each call counts against the plan's API calls per hour, never
against the daily AI quota: no model is called."""

from __future__ import annotations

import re

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import single_page, single_page_schema
from core.schema import AutoSchema, ErrorSerializer
from core.throttles import WORK
from cv import selectors
from cv.models import AIResponse
from cv.serializers import AIResponseSerializer
from cv.versions import services as versions
from cv.versions.serializers import (
    AIResponseEditSerializer,
    AIResponseVersionListSerializer,
    AIResponseVersionSerializer,
    TooManyVersionsSerializer,
    VersionConflictSerializer,
)

_ETAG = re.compile(r'^\s*(?:W/)?"v(\d{1,9})"\s*$')
_IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description='The ETag of the response as it was read (`"v3"`): the edit is of that version; if it is no '
    "longer the latest the answer is 412 with the latest. An alternative to `base_version`.",
)
_NOT_READY = OpenApiResponse(ErrorSerializer, description="The analysis has not succeeded (ai_response_not_ready).")


def etag_of(response: AIResponse) -> str | None:
    """The version a succeeded response shows, as its ETag; none while it runs (an admin's run again changes
    it without a version)."""
    if response.version is None or response.status != AIResponse.Status.SUCCEEDED:
        return None
    return f'"v{response.version}"'


def with_etag(answer: Response, response: AIResponse) -> Response:
    tag = etag_of(response)
    if tag:
        answer["ETag"] = tag
    return answer


def _base_version(request, body_base: int | None) -> tuple[int, bool]:
    """The version the edit was made on: ``base_version`` from the body, or the If-Match header's (then a
    stale one is a 412, as HTTP says)."""
    header = request.headers.get("If-Match")
    if header is None:
        if body_base is None:
            raise ValidationError({"base_version": ["Say which version you edited (base_version, or If-Match)."]})
        return body_base, False
    match = _ETAG.match(header)
    if match is None:
        raise ValidationError({"If-Match": ['Send the ETag the response was read with, e.g. "v3".']})
    number = int(match.group(1))
    if body_base is not None and body_base != number:
        raise ValidationError({"base_version": ["base_version and If-Match name different versions."]})
    return number, True


class AIResponseEditMixin:
    """PATCH on an AI response (the person's edit as the next version), and the ETag of a read one."""

    @extend_schema(
        request=AIResponseEditSerializer,
        parameters=[_IF_MATCH],
        responses={
            # 400: the ValidationError answer (core.schema): a field in error, or `detail` and `code` for an
            # edit past a bound of a CV's text (with `limit` and `actual`), an empty one (`empty_edit`) or
            # one past the 100 versions (`too_many_versions`, `limit`).
            200: AIResponseSerializer,
            409: OpenApiResponse(
                VersionConflictSerializer,
                description="base_version is not the latest (version_conflict): nothing was saved; the latest "
                "is in the answer. Also ai_response_not_ready.",
            ),
            412: OpenApiResponse(
                VersionConflictSerializer, description="If-Match names a version that is not the latest."
            ),
        },
        description="Save your edit of the improved CV as the next version. It gets its own match report and "
        "verification: a claim in a line you wrote is yours and never flagged; a claim the model introduced "
        "stays flagged until you remove it or edit its line. Counts against the API calls per hour, not the "
        "daily AI quota.",
    )
    def partial_update(self, request, *args, **kwargs):
        data = AIResponseEditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        base, precondition = _base_version(request, data.validated_data.get("base_version"))
        response = self.get_object()  # type: ignore[attr-defined]
        response = versions.version_edit(
            user=request.user,
            response=response,
            improved_cv=data.validated_data["improved_cv"],
            base_version=base,
            precondition=precondition,
        )
        return with_etag(Response(AIResponseSerializer(response).data), response)

    def retrieve(self, request, *args, **kwargs):
        response = self.get_object()  # type: ignore[attr-defined]
        return with_etag(Response(AIResponseSerializer(response).data), response)


class _ListSchema(AutoSchema):
    """A list answered in one page is a list, not a retrieve (the operation id says so)."""

    def get_operation_id(self) -> str:
        return super().get_operation_id().removesuffix("_retrieve") + "_list"


class AIResponseVersionListView(APIView):
    """The versions of one of your AI responses, oldest first (at most 100, one page): who made each and its
    stats."""

    throttle_scope = WORK
    schema = _ListSchema()

    @extend_schema(
        responses={
            200: single_page_schema("AIResponseVersionPage", AIResponseVersionListSerializer),
            409: _NOT_READY,
        }
    )
    def get(self, request, pk: int):
        response = selectors.ai_response_get_for(user=request.user, response_id=pk)
        found = versions.versions_of(response=response)
        return single_page(AIResponseVersionListSerializer(found, many=True).data)  # type: ignore[arg-type]


class AIResponseVersionDetailView(APIView):
    """One version of one of your AI responses: its improved CV, match report and verification."""

    throttle_scope = WORK

    @extend_schema(responses={200: AIResponseVersionSerializer, 409: _NOT_READY})
    def get(self, request, pk: int, number: int):
        response = selectors.ai_response_get_for(user=request.user, response_id=pk)
        version = versions.version_get(response=response, number=number)
        return Response(AIResponseVersionSerializer(version).data)


class AIResponseVersionRestoreView(APIView):
    """Make an earlier version the latest again, as a new version (nothing is overwritten)."""

    throttle_scope = WORK

    @extend_schema(
        request=None,
        responses={
            200: OpenApiResponse(AIResponseSerializer, description="The response, reading as the restored text."),
            400: OpenApiResponse(TooManyVersionsSerializer, description="The response has its 100 versions."),
            409: _NOT_READY,
        },
    )
    def post(self, request, pk: int, number: int):
        response = selectors.ai_response_get_for(user=request.user, response_id=pk)
        response = versions.version_restore(user=request.user, response=response, number=number)
        return with_etag(Response(AIResponseSerializer(response).data, status=status.HTTP_200_OK), response)
