"""API tokens: random, shown once, stored as a SHA-256 digest.

A token carries 256 bits of randomness, so a fast hash is enough (no argon2): nobody can guess
one, and the lookup stays a single indexed query on every request.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "lh_"


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def display_prefix(token: str) -> str:
    return token[:10]
