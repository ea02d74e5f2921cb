"""The OpenID Connect relying party: discovery, the authorization request (state, nonce, PKCE),
the code exchange and the ID token checks.

Every request to the identity provider goes through the guarded outbound client, and only to a
host the operator listed in ``LABELHOUSE_OIDC_HOSTS``: a URL of another host (in the discovery
document, say) is refused before any connection. The JOSE work (JWKS keys, signatures, ``iss``,
``aud``, ``exp``, ``iat``, ``nbf``) is PyJWT's; what OIDC adds on top (discovery's ``issuer``,
``nonce``, ``azp``) is checked here. Nothing here logs a token, a code or the client secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote_plus, urlencode

import jwt
import orjson

from labelhouse.core.errors import Unauthenticated, Unavailable
from labelhouse.security.addresses import AllowList
from labelhouse.security.outbound import FetchFailed, OutboundClient, OutboundPolicy, Refused, check_url

log = logging.getLogger("labelhouse.security")

# Asymmetric algorithms only: "none" and the HMAC family (which would verify with a key the
# relying party also knows) are never accepted.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY_S = 60  # clock skew allowed between us and the identity provider
CACHE_S = 3600  # discovery and keys are fetched again after this, or at once on an unknown key id
MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    scopes: str = "openid email profile"
    hosts: AllowList = field(default_factory=AllowList)
    https_only: bool = False


@dataclass(frozen=True)
class AuthRequest:
    url: str  # where the browser goes to sign in
    state: str
    nonce: str
    verifier: str  # PKCE code verifier; the challenge in the URL is its SHA-256


class ProviderError(Unavailable):
    """The identity provider could not be used: not allowed, unreachable, or a malformed answer."""


class TokenRejected(Unauthenticated):
    """An ID token (or the token response) failed a check."""


def _provider_error(reason: str) -> ProviderError:
    log.warning("single sign-on: %s", reason)
    return ProviderError("the identity provider could not be used; the server log says why")


def _rejected(reason: str) -> TokenRejected:
    log.warning("single sign-on: ID token refused: %s", reason)
    return TokenRejected(f"the identity provider's answer was refused ({reason}); sign in again")


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class OidcClient:
    """One identity provider. Discovery and keys are cached (per process) for ``CACHE_S``."""

    def __init__(self, config: OidcConfig, policy: OutboundPolicy) -> None:
        self.config = config
        # The operator's list of IdP hosts replaces the URL-import allowlist; answers are small.
        self.policy = replace(
            policy,
            allow=config.hosts,
            https_only=config.https_only,
            max_bytes=MAX_BYTES,
            timeout_s=min(policy.timeout_s, 15.0),
            max_redirects=0,
        )
        self._lock = threading.Lock()
        self._metadata: tuple[float, dict[str, Any]] | None = None
        self._keys: tuple[float, jwt.PyJWKSet] | None = None

    # --- requests to the provider ------------------------------------------------------------

    def _check_host(self, url: str) -> None:
        """Refuse, before connecting, a URL whose host the operator did not list."""
        try:
            host = check_url(url, self.policy).host
        except Refused:
            raise _provider_error(f"refused URL {url!r}") from None
        allow = self.config.hosts
        listed = allow.allows_host(host)
        if not listed:
            try:
                listed = allow.allows_address(ipaddress.ip_address(host.strip("[]")))
            except ValueError:
                listed = False
        if not listed:
            raise _provider_error(f"host {host!r} is not in LABELHOUSE_OIDC_HOSTS; nothing was sent to it")

    def _json(self, data: bytes, what: str) -> dict[str, Any]:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise _provider_error(f"the {what} is not JSON") from None
        if not isinstance(value, dict):
            raise _provider_error(f"the {what} is not a JSON object")
        return value

    def _get(self, url: str, what: str) -> dict[str, Any]:
        self._check_host(url)
        try:
            with OutboundClient(self.policy) as client:
                return self._json(client.fetch(url).data, what)
        except (Refused, FetchFailed) as exc:  # blind by design; the log says which step failed
            raise _provider_error(f"fetching the {what} from {url!r} failed: {exc}") from None

    def metadata(self) -> dict[str, Any]:
        """The discovery document, checked: its issuer is ours, its endpoints are there."""
        with self._lock:
            cached = self._metadata
        if cached is not None and time.monotonic() - cached[0] < CACHE_S:
            return cached[1]
        url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        doc = self._get(url, "discovery document")
        if doc.get("issuer") != self.config.issuer:
            raise _provider_error(
                f"the discovery document names issuer {doc.get('issuer')!r}, not {self.config.issuer!r}"
            )
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(doc.get(name), str) or not doc[name]:
                raise _provider_error(f"the discovery document has no {name}")
        if self.config.https_only and not doc["authorization_endpoint"].startswith("https://"):
            raise _provider_error("the authorization endpoint is not https")
        with self._lock:
            self._metadata = (time.monotonic(), doc)
        return doc

    def _key_set(self, *, refresh: bool = False) -> jwt.PyJWKSet:
        with self._lock:
            cached = self._keys
        if not refresh and cached is not None and time.monotonic() - cached[0] < CACHE_S:
            return cached[1]
        data = self._get(self.metadata()["jwks_uri"], "key set (JWKS)")
        keys = [k for k in data.get("keys", []) if isinstance(k, dict) and k.get("use", "sig") == "sig"]
        try:
            found = jwt.PyJWKSet.from_dict({"keys": keys})
        except jwt.PyJWTError as exc:
            raise _provider_error(f"the key set has no usable signing key ({exc})") from None
        with self._lock:
            self._keys = (time.monotonic(), found)
        return found

    def _signing_key(self, kid: str | None) -> jwt.PyJWK:
        for refresh in (False, True):  # an unknown key id may be a rotated key: fetch once more
            keys = self._key_set(refresh=refresh).keys
            if kid is None and len(keys) == 1:
                return keys[0]
            for key in keys:
                if kid is not None and key.key_id == kid:
                    return key
        raise _rejected(f"no key with id {kid!r} in the provider's key set")

    # --- the flow ----------------------------------------------------------------------------

    def authorization_request(self) -> AuthRequest:
        """Where to send the browser, with a fresh state, nonce and PKCE verifier."""
        endpoint = self.metadata()["authorization_endpoint"]
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.config.client_id,
                "redirect_uri": self.config.redirect_uri,
                "scope": self.config.scopes,
                "state": state,
                "nonce": nonce,
                "code_challenge": pkce_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        sep = "&" if "?" in endpoint else "?"
        return AuthRequest(f"{endpoint}{sep}{query}", state, nonce, verifier)

    def exchange(self, code: str, verifier: str) -> str:
        """Trade the authorization code for an ID token (the token endpoint, server to server)."""
        if not code or len(code) > 4096:
            raise _rejected("no authorization code")
        meta = self.metadata()
        url = meta["token_endpoint"]
        self._check_host(url)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "code_verifier": verifier,
            "client_id": self.config.client_id,
        }
        auth: tuple[str, str] | None = None
        methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        if self.config.client_secret:
            if "client_secret_basic" in methods:
                # RFC 6749 2.3.1: both parts form-encoded before Basic encoding.
                auth = (quote_plus(self.config.client_id), quote_plus(self.config.client_secret))
            else:
                form["client_secret"] = self.config.client_secret
        try:
            with OutboundClient(self.policy) as client:
                answer = self._json(client.post_form(url, form, auth=auth).data, "token response")
        except (Refused, FetchFailed) as exc:
            raise _provider_error(f"the token request failed: {exc}") from None
        id_token = answer.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise _rejected("the token response has no id_token")
        return id_token

    def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims, once its signature, issuer, audience, times and nonce hold."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise _rejected("not a JWT") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise _rejected(f"algorithm {alg!r} is not accepted")
        kid = header.get("kid")
        key = self._signing_key(kid if isinstance(kid, str) else None)
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key.key,
                algorithms=[alg],
                audience=self.config.client_id,
                issuer=self.config.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise _rejected("expired") from None
        except jwt.InvalidAudienceError:
            raise _rejected("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise _rejected("wrong issuer") from None
        except jwt.InvalidSignatureError:
            raise _rejected("bad signature") from None
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise _rejected(f"invalid: {type(exc).__name__}") from None
        sent = claims.get("nonce")
        if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
            raise _rejected("the nonce is not this sign-in's")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.config.client_id:
            raise _rejected("several audiences and azp is not this client")
        if not isinstance(claims.get("sub"), str) or not claims["sub"] or len(claims["sub"]) > 255:
            raise _rejected("no usable subject")
        return claims
