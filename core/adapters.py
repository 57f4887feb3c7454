import hashlib
import re
import time

import jwt
import requests
from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.providers.google.views import GoogleOAuth2Adapter
from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse

from core.emails import clean_email
from core.exceptions import Conflict, DomainError


class AccountAdapter(DefaultAccountAdapter):
    """Email rules for every allauth path (sign-up, password reset lookups, social sign-in)."""

    def clean_email(self, email: str) -> str:
        return clean_email(email)

    def get_email_confirmation_url(self, request, emailconfirmation):
        return f"{settings.FRONTEND_URL}/verify-email/{emailconfirmation.key}"

    def confirm_email(self, request, email_address) -> bool:
        """Confirming an address. With ACCOUNT_CHANGE_EMAIL (settings) allauth then makes it the account's
        email and removes the old one: this is how a change requested through PATCH /auth/user/ under mandatory
        verification completes (core.services.user_update). Refused while another account has the address,
        which it may have taken since the change was asked for."""
        from core.models import User

        if User.objects.filter(email__iexact=email_address.email).exclude(pk=email_address.user_id).exists():
            raise EmailAddressTaken()
        return super().confirm_email(request, email_address)

    def respond_email_verification_sent(self, request, user):
        # allauth would redirect to its own HTML page; the API has none (the SPA shows its own), and
        # dj-rest-auth's sign-up answers the client itself, so this answer is never sent.
        return HttpResponse(status=204)


class EmailAddressTaken(Conflict):
    default_code = "email_taken"
    default_detail = "Another account uses this email address now, so it cannot be confirmed for yours."


# Google's own endpoints; GOOGLE_API_BASE replaces their hosts (tests point it at testing/fake_google.py).
_GOOGLE_ENDPOINTS = {
    "token": ("https://oauth2.googleapis.com", "/token"),
    "tokeninfo": ("https://oauth2.googleapis.com", "/tokeninfo"),
    "certs": ("https://www.googleapis.com", "/oauth2/v3/certs"),
    "userinfo": ("https://www.googleapis.com", "/oauth2/v3/userinfo"),
}
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")


def google_url(name: str) -> str:
    host, path = _GOOGLE_ENDPOINTS[name]
    return (settings.GOOGLE_API_BASE or host).rstrip("/") + path


class GoogleTokenRefused(DomainError):
    """Google's answer (or the token itself) does not prove that the person signed in to *our* app."""

    default_code = "google_token_invalid"
    default_detail = "Google did not confirm this sign-in. Please try again."


def _google_get(name: str, **kwargs) -> requests.Response:
    # requests errors (unreachable, timeout) reach the view, which answers 503 google_unreachable.
    response = requests.get(google_url(name), timeout=settings.GOOGLE_TIMEOUT, **kwargs)
    if response.status_code >= 500:
        raise requests.ConnectionError(f"Google answered {response.status_code}")
    return response


# Google's signing keys are kept as long as its answer says (Cache-Control max-age, a few hours), at most
# KEYS_SECONDS_MAX. A key id not among them makes us ask Google again, at most once per KEYS_REFETCH_SECONDS:
# Google publishes a key before signing with it, and a stream of made-up key ids must not become a stream
# of requests to Google.
KEYS_SECONDS_DEFAULT = 3600
KEYS_SECONDS_MAX = 6 * 3600
KEYS_REFETCH_SECONDS = 60
_MAX_AGE = re.compile(r"max-age=(\d+)")


def _keys_cache_key() -> str:
    return "google:certs:" + hashlib.sha256(google_url("certs").encode()).hexdigest()[:16]


def _fetch_keys() -> dict:
    response = _google_get("certs")
    try:
        keys = response.json()
    except ValueError as exc:
        raise requests.ConnectionError("Google's keys were not JSON") from exc
    match = _MAX_AGE.search(response.headers.get("Cache-Control", ""))
    seconds = min(int(match.group(1)), KEYS_SECONDS_MAX) if match else KEYS_SECONDS_DEFAULT
    if response.status_code == 200 and seconds > 0:
        cache.set(_keys_cache_key(), (time.time(), keys), seconds)  # a cache that is down skips this
    return keys


def google_signing_key(kid: str) -> jwt.PyJWK | None:
    """Google's public key with this id, from the kept set or Google; None if Google has no such key."""
    kept = cache.get(_keys_cache_key())
    keys = kept[1] if kept is not None else _fetch_keys()
    found = _key_in(keys, kid)
    if found is None and kept is not None and time.time() - kept[0] >= KEYS_REFETCH_SECONDS:
        found = _key_in(_fetch_keys(), kid)
    return found


def _key_in(keys: object, kid: str) -> jwt.PyJWK | None:
    try:
        return jwt.PyJWKSet.from_dict(keys)[kid]  # type: ignore[arg-type]  # anything else raises below
    except (ValueError, KeyError, TypeError, AttributeError, jwt.PyJWKSetError):
        return None


def _verified_email(claims: dict) -> dict:
    # Google sends a boolean in ID tokens and userinfo, the string "true" from tokeninfo.
    if str(claims.get("email_verified")).lower() != "true" or not claims.get("email"):
        raise GoogleTokenRefused(
            "Google has not verified this account's email address.", code="google_email_unverified"
        )
    return claims


def google_id_token_claims(id_token: str, *, client_id: str) -> dict:
    """The claims of an ID token signed by Google (its published keys), issued by Google, for our client id,
    not expired, with a verified email; anything else is GoogleTokenRefused."""
    try:
        kid = jwt.get_unverified_header(id_token).get("kid")
    except jwt.InvalidTokenError as exc:
        raise GoogleTokenRefused("This is not a Google ID token.") from exc
    if not isinstance(kid, str):
        raise GoogleTokenRefused("This ID token is not signed with one of Google's keys.")
    key = google_signing_key(kid)
    if key is None:
        raise GoogleTokenRefused("This ID token is not signed with one of Google's keys.")
    try:
        claims = jwt.decode(
            id_token,
            key=key.key,
            algorithms=["RS256"],
            audience=client_id,
            issuer=GOOGLE_ISSUERS,
            leeway=30,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
    except jwt.InvalidAudienceError as exc:
        raise GoogleTokenRefused("This token was issued to another application.", code="google_token_audience") from exc
    except jwt.InvalidTokenError as exc:
        raise GoogleTokenRefused("This Google ID token is not valid (signature, issuer or expiry).") from exc
    if claims["aud"] != client_id:  # PyJWT accepts a list that merely contains our id
        raise GoogleTokenRefused("This token was issued to another application.", code="google_token_audience")
    return _verified_email(claims)


def google_access_token_claims(access_token: str, *, client_id: str) -> dict:
    """Who a bare access token belongs to, once Google's tokeninfo confirms it was issued to our client id:
    otherwise anyone holding a token another site obtained for the victim could sign in as the victim."""
    info = _google_get("tokeninfo", params={"access_token": access_token})
    if info.status_code != 200:
        raise GoogleTokenRefused("Google does not recognise this access token.")
    info = info.json()
    if info.get("aud") != client_id and info.get("azp") != client_id:
        raise GoogleTokenRefused("This token was issued to another application.", code="google_token_audience")
    if int(info.get("expires_in") or 0) <= 0:
        raise GoogleTokenRefused("This access token has expired.")
    profile = _google_get("userinfo", headers={"Authorization": f"Bearer {access_token}"})
    if profile.status_code != 200:
        raise GoogleTokenRefused("Google does not recognise this access token.")
    profile = profile.json()
    if profile.get("sub") != info.get("sub"):
        raise GoogleTokenRefused("Google's answers about this token disagree.")
    return _verified_email(profile)


class GoogleAdapter(GoogleOAuth2Adapter):
    """allauth's Google adapter with every token checked against our client id: an ID token by its
    signature and claims, a bare access token through Google's tokeninfo. Endpoints follow GOOGLE_API_BASE."""

    @property
    def access_token_url(self) -> str:
        return google_url("token")

    def complete_login(self, request, app, token, **kwargs):
        response = kwargs.get("response") or {}
        if response.get("id_token"):
            claims = google_id_token_claims(response["id_token"], client_id=app.client_id)
        else:
            claims = google_access_token_claims(token.token, client_id=app.client_id)
        return self.get_provider().sociallogin_from_response(request, claims)
