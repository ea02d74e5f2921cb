"""Where a browser may be sent after login, logout or single sign-on: same-origin paths only (A-09).

A ``next`` value comes from a URL an attacker can write. Browsers read ``//evil.test``,
``/\\evil.test`` and ``\\/\\/evil.test`` as other hosts, ``https:evil.test`` and
``javascript:...`` as schemes, and drop tabs and newlines inside URLs (so ``/\\t/evil.test`` is
``//evil.test`` to them). Rather than list bad spellings, only one shape is accepted: a path that
starts with a single ``/`` followed by a character that is not ``/`` or ``\\``, with no backslash,
whitespace or control character anywhere, and that a URL parser reads with no scheme and no host.
Anything else becomes the default page.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_NEXT = "/ui/#/projects"
MAX_LENGTH = 2000


def safe_next(value: str | None, default: str = DEFAULT_NEXT) -> str:
    """``value`` if it is a same-origin relative path, else ``default``."""
    if not value or len(value) > MAX_LENGTH:
        return default
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(c == "\\" or ord(c) <= 0x20 or ord(c) == 0x7F for c in value):
        return default
    try:
        parts = urlsplit(value)
    except ValueError:
        return default
    if parts.scheme or parts.netloc:
        return default
    return value
