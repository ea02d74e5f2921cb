"""A-09: after login, logout or single sign-on, only same-origin relative paths are followed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from labelhouse.security.redirects import DEFAULT_NEXT, safe_next

# ATTACKS.md A-09's list, and the spellings browsers are known to read as another host.
HOSTILE = [
    "https://evil.test",
    "http://evil.test/ui/",
    "//evil.test",
    "/\\evil.test",
    "\\/\\/evil.test",
    "\\\\evil.test",
    "https:evil.test",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "%2F%2Fevil.test",
    "/\t/evil.test",
    "/\n/evil.test",
    "/\r\n/evil.test",
    " //evil.test",
    "//127.0.0.1:8081",
    "///evil.test",
    "/ui/\\evil.test",
    "evil.test",
    "ui/#/projects",
    "",
    "/" + "a" * 3000,
]
SAFE = ["/ui/", "/ui/#/projects", "/ui/#/review/3?x=1", "/%09/evil.test", "/ui/#//evil.test"]


@pytest.mark.parametrize("value", HOSTILE)
def test_A_09_hostile_next_lands_on_the_default_page(value: str) -> None:
    assert safe_next(value) == DEFAULT_NEXT


@pytest.mark.parametrize("value", SAFE)
def test_A_09_same_origin_paths_are_kept(value: str) -> None:
    # "/%09/..." and "#//..." are paths and fragments of this origin, not other hosts.
    assert safe_next(value) == value


def test_A_09_login_and_logout_never_redirect(client: TestClient) -> None:
    """Password login and logout answer JSON / 204 and ignore any next=: nothing to redirect."""
    for method, path in (("POST", "/api/v1/auth/session"), ("DELETE", "/api/v1/auth/session")):
        r = client.request(method, f"{path}?next=https://evil.test", follow_redirects=False)
        assert r.status_code in (401, 422) and "location" not in r.headers
