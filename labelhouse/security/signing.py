"""Signed, expiring URLs for item files: an <img src> cannot send a token, so the URL carries
proof that the server handed this file to this user, until a given time. Pure: HMAC-SHA256."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(secret: bytes, *parts: object) -> str:
    message = "\n".join(str(p) for p in parts).encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def valid(secret: bytes, signature: str, *parts: object) -> bool:
    return hmac.compare_digest(sign(secret, *parts), signature)
