"""OpenAPI extensions: our cookie/Bearer authentication documents itself like dj-rest-auth's, and every
operation documents the error answers it can give besides its own."""

from drf_spectacular.contrib.rest_auth import SimpleJWTCookieScheme
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class JWTCookieScheme(SimpleJWTCookieScheme):
    target_class = "core.authentication.JWTCookieAuthentication"


class ErrorSerializer(serializers.Serializer):
    """The body of every error that is not a validation error (core.exceptions); some add fields of their own
    (a quota's `limit` and `reset_at`, a rate limit's `retry_after_seconds`)."""

    detail = serializers.CharField(help_text="What went wrong, for a person to read.")
    code = serializers.CharField(help_text="A stable code for programs, e.g. `throttled` or `service_unavailable`.")


_SIGN_IN = OpenApiResponse(ErrorSerializer, description="Not signed in, or the token is no longer valid.")
_LIMITED = OpenApiResponse(ErrorSerializer, description="A rate limit or a plan's quota was reached.")
_DOWN = OpenApiResponse(ErrorSerializer, description="A service the request needs (database, Redis) is down.")
_MISSING = OpenApiResponse(ErrorSerializer, description="No such object, or not one of the caller's own.")

# What a 400 holds (core.exceptions): the messages of each field in error, or of the request as a whole.
_INVALID = ResolvedComponent(
    name="ValidationError",
    type=ResolvedComponent.SCHEMA,
    object="ValidationError",
    schema={
        "type": "object",
        "description": (
            "One key per field in error, each with its list of messages, e.g. "
            '`{"prompt": ["Ensure this field has no more than 2000 characters."]}`; `non_field_errors` for the '
            "request as a whole, and a nested field's errors nested the same way. A request refused for "
            "another reason has `detail` and `code` instead, as other errors do, with what that reason adds "
            "(a text past a size bound: `limit` and `actual`)."
        ),
        "additionalProperties": {
            "anyOf": [{"type": "array"}, {"type": "object"}, {"type": "string"}, {"type": "integer"}]
        },
    },
)


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's, adding 400 where the operation reads a request body or query parameters, 401 where
    sign-in is required, 404 where the path names an object, 429 where rate limits apply and 503 to every
    operation, unless the operation documents that answer itself."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = {"503": _DOWN}
        reads_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        if reads_body or self._reads_query_parameters():
            self.registry.register_on_missing(_INVALID)
            errors["400"] = OpenApiResponse(_INVALID.ref, description="The request is not valid; it says why.")
        if self.view.get_throttles():
            errors["429"] = _LIMITED
        if not all(isinstance(permission, AllowAny) for permission in self.view.get_permissions()):
            errors["401"] = _SIGN_IN
        if "{" in self.path:
            errors["404"] = _MISSING
        for code, answer in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(answer, code, direction=direction)
        return responses

    def _reads_query_parameters(self) -> bool:
        parameters = self.get_override_parameters()
        return any(isinstance(p, OpenApiParameter) and p.location == OpenApiParameter.QUERY for p in parameters)
