"""A fake OpenID Connect provider on 127.0.0.1 (the outside world, for the SSO tests).

It serves discovery, a JWKS, an authorize endpoint that signs in whoever ``next_claims`` says
(no login form: it redirects straight back with a code), and a token endpoint that checks the
client's secret, the redirect URI, the code (once) and the PKCE verifier, and answers an RS256 ID
token. Tests bend it to misbehave: ``token_overrides`` changes claims or the header of the next
ID token, ``sign_with`` signs with another key, ``discovery_overrides`` rewrites the document.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "labelhouse-test"
CLIENT_SECRET = "s3cret-" + "x" * 24


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@lru_cache(maxsize=1)
def signing_key() -> rsa.RSAPrivateKey:
    """The provider's signing key, made once per process (RSA key generation is slow)."""
    return new_key()


@dataclass
class FakeIdp:
    host: str = "127.0.0.1"
    key: rsa.RSAPrivateKey = field(default_factory=signing_key)
    kid: str = "k1"
    next_claims: dict[str, Any] = field(default_factory=dict)
    token_overrides: dict[str, Any] = field(default_factory=dict)  # claims; "_header" for the header
    sign_with: rsa.RSAPrivateKey | None = None
    discovery_overrides: dict[str, Any] = field(default_factory=dict)
    connections: int = 0
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)  # every ID token handed out
    server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        assert self.server is not None
        return f"http://{self.host}:{self.server.server_address[1]}"

    def discovery(self) -> dict[str, Any]:
        doc = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }
        return {**doc, **self.discovery_overrides}

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            **self.next_claims,
        }
        overrides = dict(self.token_overrides)
        header = {"kid": self.kid, **overrides.pop("_header", {})}
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        algorithm = header.pop("alg", "RS256")
        key: Any = self.sign_with or self.key
        if algorithm == "HS256":
            token = _hmac_with_public_key(claims, header, self.key)
        else:
            token = jwt.encode(
                claims, None if algorithm == "none" else key, algorithm=algorithm, headers=header
            )
        self.issued.append(token)
        return token

    # --- endpoints -----------------------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.authorize_requests.append(query)
        code = secrets.token_urlsafe(16)
        self.codes[code] = query
        target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
        return 302, {"Location": target}, b""

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, str], bytes]:
        self.token_requests.append(form)
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        request = self.codes.pop(form.get("code", ""), None)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
            .decode()
            .rstrip("=")
        )
        if (
            authorization != expected
            or request is None
            or form.get("grant_type") != "authorization_code"
            or form.get("redirect_uri") != request["redirect_uri"]
            or challenge != request["code_challenge"]
        ):
            return 400, {"Content-Type": "application/json"}, b'{"error": "invalid_grant"}'
        body = {"access_token": "at", "token_type": "Bearer", "id_token": self.id_token(request["nonce"])}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _hmac_with_public_key(claims: dict[str, Any], header: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    """The key-confusion attack, by hand (PyJWT refuses to make it): HS256 keyed with the public key."""
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing = f"{_b64(json.dumps({**header, 'alg': 'HS256', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(claims).encode())}"
    return signing + "." + _b64(hmac.new(public, signing.encode(), hashlib.sha256).digest())


@contextmanager
def running(idp: FakeIdp) -> Iterator[FakeIdp]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            as_json = {"Content-Type": "application/json"}
            if url.path == "/.well-known/openid-configuration":
                self._send(200, as_json, json.dumps(idp.discovery()).encode())
            elif url.path == "/jwks":
                self._send(200, as_json, json.dumps(idp.jwks()).encode())
            elif url.path == "/authorize":
                self._send(*idp.authorize(query))
            else:
                self._send(404, {}, b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if urlsplit(self.path).path == "/token":
                self._send(*idp.token(form, self.headers.get("Authorization", "")))
            else:
                self._send(404, {}, b"")

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def verify_request(self, request: Any, client_address: Any) -> bool:
            idp.connections += 1
            return True

    idp.server = Server((idp.host, 0), Handler)
    thread = threading.Thread(target=idp.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield idp
    finally:
        idp.server.shutdown()
        idp.server.server_close()


def oidc_settings(idp: FakeIdp, redirect_base: str, roles: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Settings overrides that point a server at ``idp``."""
    return {
        "oidc_issuer": idp.issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_redirect_base": redirect_base,
        "oidc_name": "Fake IdP",
        "oidc_hosts": idp.host,
        "oidc_roles": json.dumps(roles),
        **extra,
    }
