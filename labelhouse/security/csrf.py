"""CSRF tokens for cookie sessions: an HMAC of the session token, so nothing extra is stored.

A browser sends the session cookie on every request to the origin, including ones another site
triggers; it cannot send a custom header cross-site without CORS, which the app never grants.
So an unsafe request authenticated by the cookie must also carry ``X-CSRF-Token``, whose value
only a page of this origin can learn (from ``GET /api/v1/auth/session``).
"""

from __future__ import annotations

from labelhouse.security import signing

HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token_for(secret: bytes, session_token: str) -> str:
    return signing.sign(secret, "csrf", session_token)


def valid(secret: bytes, session_token: str, sent: str) -> bool:
    return bool(sent) and signing.valid(secret, sent, "csrf", session_token)
