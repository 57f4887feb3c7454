"""OpenAPI extensions: our cookie/Bearer authentication documents itself like dj-rest-auth's."""

from drf_spectacular.contrib.rest_auth import SimpleJWTCookieScheme


class JWTCookieScheme(SimpleJWTCookieScheme):
    target_class = "core.authentication.JWTCookieAuthentication"
