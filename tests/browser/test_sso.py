"""Single sign-on in Chromium against a fake provider on 127.0.0.1: the login page offers "Sign in
with ...", one click lands logged in with the mapped role, no open redirect (A-09), and the
account page changes the password (A-04)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import PASSWORD, Site, log_in
from tests.fake_idp import FakeIdp, oidc_settings, running
from tests.security.canary import start_canary

SSO_USER = {"sub": "carol-7", "email": "carol@acme.test", "email_verified": True, "groups": ["labelers"]}


@pytest.fixture(scope="module")
def idp(site: Site) -> Iterator[FakeIdp]:
    with running(FakeIdp()) as provider:
        # The site's runtime is read at request time, so the running server picks this up.
        site.rt.settings = site.rt.settings.with_overrides(
            **oidc_settings(provider, site.url, {"labelers": "acme:annotator", "leads": "acme:manager"})
        )
        yield provider


def test_sso_click_lands_logged_in_with_the_mapped_role(page: Any, site: Site, idp: FakeIdp) -> None:
    idp.next_claims = SSO_USER
    page.goto("/ui/#/projects")
    button = page.locator("#sso")
    assert button.inner_text() == "Sign in with Fake IdP"
    button.click()
    page.wait_for_selector("#logout")
    assert page.locator(".who").inner_text() == "carol@acme.test · annotator"
    assert page.url == f"{site.url}/ui/#/projects"
    assert idp.authorize_requests and idp.token_requests  # the real round trip happened
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["lh_session"]["httpOnly"] and cookies["lh_session"]["sameSite"] == "Strict"
    assert "lh_oidc" not in cookies  # the sign-in's state cookie is gone
    assert page.evaluate("() => document.cookie") == ""


def test_sso_refusal_is_a_clear_page(page: Any, site: Site, idp: FakeIdp) -> None:
    idp.next_claims = {**SSO_USER, "sub": "dave-8", "email": "dave@acme.test", "groups": ["visitors"]}
    page.goto("/ui/")
    page.click("#sso")
    page.wait_for_selector("#reason")
    assert "none of your groups is mapped" in page.locator("#reason").inner_text()
    page.click("text=Back to log in")
    page.wait_for_selector("input[name=email]")


def test_A_09_sso_next_to_another_host_lands_in_the_app(page: Any, site: Site, idp: FakeIdp) -> None:
    canary = start_canary("127.0.0.1")
    try:
        idp.next_claims = SSO_USER
        for target in (f"//127.0.0.1:{canary.port}/", f"http://127.0.0.1:{canary.port}/", "/\\evil.test"):
            page.goto(f"/api/v1/auth/oidc/login?next={target}")
            page.wait_for_selector("#logout")
            assert page.url == f"{site.url}/ui/#/projects", target
        assert canary.connections == 0
    finally:
        assert canary.server is not None
        canary.server.shutdown()
        canary.server.server_close()


def test_A_04_password_change_in_the_ui_ends_the_other_session(browser: Any, page: Any, site: Site) -> None:
    other = browser.new_context(base_url=site.url)
    phone = other.new_page()
    log_in(phone, "ann2@acme.test")
    log_in(page, "ann2@acme.test")
    page.click(".who")
    page.fill("input[name=current]", PASSWORD)
    page.fill("input[name=new]", "a new browser password")
    page.fill("input[name=again]", "a new browser password")
    page.click("#password-form button[type=submit]")
    page.wait_for_selector(".toast.ok:has-text('Ended 1 other session')")
    phone.reload()
    phone.wait_for_selector("input[name=email]")  # the other device is logged out
    page.goto("/ui/#/projects")
    page.wait_for_selector("#logout")  # this one is not
    other.close()
