"""A small fake of Google's OAuth 2.0 / OpenID Connect endpoints for tests, on 127.0.0.1.

It serves what our sign-in reads, under one base URL (our `GOOGLE_API_BASE`):
`POST /token` (authorization-code exchange), `GET /tokeninfo?access_token=...`, `GET /oauth2/v3/certs`
(the JWKS) and `GET /oauth2/v3/userinfo`. ID tokens are RS256 JWTs signed with a key generated at start,
the way Google signs them, so our code verifies real signatures. A test issues codes, access tokens and ID
tokens for any client id (ours or another site's) and sees every request our code made.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://accounts.google.com"


@dataclass
class GoogleIdentity:
    sub: str
    email: str
    email_verified: bool = True
    name: str = "Test Person"

    def claims(self) -> dict[str, Any]:
        return {"sub": self.sub, "email": self.email, "email_verified": self.email_verified, "name": self.name}


@dataclass
class _Grant:
    identity: GoogleIdentity
    client_id: str
    expires_at: float
    scope: str = "openid email profile"


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)


def new_signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeGoogle:
    def __init__(self, *, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = new_signing_key()
        self.kid = secrets.token_hex(8)
        self.requests: list[RecordedRequest] = []
        self._codes: dict[str, _Grant] = {}
        self._access_tokens: dict[str, _Grant] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        # Google answers its keys with Cache-Control: public, max-age=<a few hours>.
        self.certs_max_age: int | None = 21_600

    def rotate_key(self) -> None:
        """Sign with a new key from now on, and publish only that one."""
        self.key = new_signing_key()
        self.kid = secrets.token_hex(8)

    def start(self) -> Self:
        fake: FakeGoogle = self

        class Handler(_Handler):
            google = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-google", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "FakeGoogle is not started"
        port = self._server.server_port  # bound to 127.0.0.1 (start)
        return f"http://127.0.0.1:{port}"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    # What Google would hand the SPA (or another site).

    def id_token(
        self,
        identity: GoogleIdentity,
        *,
        aud: str | None = None,
        iss: str = ISSUER,
        expires_in: int = 3600,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
    ) -> str:
        now = int(time.time())
        claims = {
            **identity.claims(),
            "iss": iss,
            "aud": aud or self.client_id,
            "azp": aud or self.client_id,
            "iat": now - 5,
            "exp": now + expires_in,
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})

    def access_token(self, identity: GoogleIdentity, *, client_id: str | None = None, expires_in: int = 3600) -> str:
        token = f"ya29.fake-{secrets.token_urlsafe(24)}"
        with self._lock:
            self._access_tokens[token] = _Grant(identity, client_id or self.client_id, time.time() + expires_in)
        return token

    def authorization_code(self, identity: GoogleIdentity, *, client_id: str | None = None) -> str:
        code = f"4/fake-{secrets.token_urlsafe(16)}"
        with self._lock:
            self._codes[code] = _Grant(identity, client_id or self.client_id, time.time() + 600)
        return code

    # The endpoints.

    def handle(self, method: str, raw_path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
        url = urlsplit(raw_path)
        params = dict(parse_qsl(url.query))
        if body:
            params.update(parse_qsl(body.decode()))
        with self._lock:
            self.requests.append(RecordedRequest(method, url.path, params, headers))
        route = {
            ("POST", "/token"): self._token,
            ("GET", "/tokeninfo"): self._tokeninfo,
            ("POST", "/tokeninfo"): self._tokeninfo,
            ("GET", "/oauth2/v3/certs"): self._certs,
            ("GET", "/oauth2/v3/userinfo"): self._userinfo,
        }.get((method, url.path))
        if route is None:
            return 404, {"error": "not_found"}
        return route(params, headers)

    def _token(self, params: dict, headers: dict) -> tuple[int, dict]:
        if params.get("client_id") != self.client_id or params.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
        with self._lock:
            grant = self._codes.pop(params.get("code", ""), None)  # a code is good once
        if grant is None or grant.client_id != params["client_id"] or grant.expires_at < time.time():
            return 400, {"error": "invalid_grant", "error_description": "Malformed auth code."}
        access = self.access_token(grant.identity, client_id=grant.client_id)
        return 200, {
            "access_token": access,
            "expires_in": 3599,
            "scope": grant.scope,
            "token_type": "Bearer",
            "id_token": self.id_token(grant.identity, aud=grant.client_id),
        }

    def _grant_for(self, token: str) -> _Grant | None:
        with self._lock:
            grant = self._access_tokens.get(token)
        return grant if grant is not None and grant.expires_at > time.time() else None

    def _tokeninfo(self, params: dict, headers: dict) -> tuple[int, dict]:
        grant = self._grant_for(params.get("access_token", ""))
        if grant is None:
            return 400, {"error": "invalid_token", "error_description": "Invalid Value"}
        # Google answers strings here, booleans included.
        return 200, {
            "azp": grant.client_id,
            "aud": grant.client_id,
            "sub": grant.identity.sub,
            "scope": grant.scope,
            "exp": str(int(grant.expires_at)),
            "expires_in": str(int(grant.expires_at - time.time())),
            "email": grant.identity.email,
            "email_verified": "true" if grant.identity.email_verified else "false",
            "access_type": "online",
        }

    def _userinfo(self, params: dict, headers: dict) -> tuple[int, dict]:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        grant = self._grant_for(token) if scheme.lower() == "bearer" else None
        if grant is None:
            return 401, {"error": "invalid_request", "error_description": "Invalid Credentials"}
        return 200, grant.identity.claims()

    def _certs(self, params: dict, headers: dict) -> tuple[int, dict]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return 200, {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def response_headers(self, path: str) -> dict[str, str]:
        if path == "/oauth2/v3/certs" and self.certs_max_age is not None:
            return {"Cache-Control": f"public, max-age={self.certs_max_age}, must-revalidate, no-transform"}
        return {}


class _Handler(BaseHTTPRequestHandler):
    google: FakeGoogle
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, payload = self.google.handle(self.command, self.path, body, headers)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in self.google.response_headers(urlsplit(self.path).path).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args) -> None:
        pass
