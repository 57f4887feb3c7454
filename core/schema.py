"""OpenAPI extensions: our cookie/Bearer authentication documents itself like dj-rest-auth's, and every
operation documents the error answers it can give besides its own."""

from drf_spectacular.contrib.rest_auth import SimpleJWTCookieScheme
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
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


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's, adding 401 where sign-in is required, 404 where the path names an object, 429 where
    rate limits apply and 503 to every operation, unless the operation documents that answer itself."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = {"503": _DOWN}
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
