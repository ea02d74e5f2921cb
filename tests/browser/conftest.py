"""Browser tests: the real app under uvicorn, driven in headless Chromium (Debian's package) by
Playwright with the system browser. Missing Chromium or Playwright skips these tests locally, and
fails them under CI=true (.ci/run installs both)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from labelhouse.runtime import Runtime, open_runtime
from labelhouse.services import accounts
from labelhouse.services.accounts import actor_cache
from labelhouse.services.clock import utcnow
from labelhouse.settings import load_settings
from tests.live_server import serving

PASSWORD = "correct horse battery"
CHROMIUM = (
    os.environ.get("LABELHOUSE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI must run the browser tests; .ci/run installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed: pip install -e '.[test]'")
    if not CHROMIUM:
        _missing("Chromium is not installed: apt-get install chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@dataclass
class Site:
    url: str
    rt: Runtime
    tokens: dict[str, str]

    def api(self, who: str = "owner@acme.test") -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/api/v1", headers={"Authorization": f"Bearer {self.tokens[who]}"}, timeout=20
        )

    def project(self, name: str, schema: dict[str, Any], rows: list[dict[str, Any]], **settings: Any) -> int:
        with self.api() as c:
            r = c.post("/projects", json={"name": name, "schema": schema, **settings})
            r.raise_for_status()
            pid = int(r.json()["id"])
            if rows:
                c.post(f"/projects/{pid}/items", json=rows).raise_for_status()
        return pid

    def project_with_files(self, name: str, schema: dict[str, Any], zip_bytes: bytes) -> int:
        with self.api() as c:
            r = c.post("/projects", json={"name": name, "schema": schema})
            r.raise_for_status()
            pid = int(r.json()["id"])
            c.post(
                f"/projects/{pid}/items", content=zip_bytes, params={"format": "images"}
            ).raise_for_status()
        return pid

    def annotations(self, pid: int) -> list[dict[str, Any]]:
        with self.api() as c:
            lines = c.get(f"/projects/{pid}/export", params={"format": "jsonl"}).text.splitlines()
        import json

        return [a for line in lines if line for a in json.loads(line).get("annotations", [])]


PEOPLE = (
    ("owner@acme.test", "owner"),
    ("manager@acme.test", "manager"),
    ("reviewer@acme.test", "reviewer"),
    ("ann@acme.test", "annotator"),
    ("ann2@acme.test", "annotator"),
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Site]:
    """A server per test module; a module may set ``SITE_SETTINGS`` (settings overrides)."""
    data = tmp_path_factory.mktemp("site")
    overrides = getattr(request.module, "SITE_SETTINGS", {})
    rt = open_runtime(load_settings(env={}, data_dir=data / "data", **overrides))
    actor_cache.clear()
    tokens = {}
    with rt.db.session() as s:
        for email, role in PEOPLE:
            _user, _ws, issued = accounts.create_user_cli(
                s, email, workspace="acme", role=role, password=PASSWORD, with_token=True, now=utcnow()
            )
            assert issued is not None
            tokens[email] = issued.token
    with serving(rt) as url:
        yield Site(url, rt, tokens)
    rt.db.dispose()


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=site.url)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(20000)  # a loaded 2-core CI machine can be slow; a deadline, not a measure
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def log_in(page: Any, email: str = "ann@acme.test", password: str = PASSWORD) -> None:
    page.goto("/ui/#/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_selector("#logout")


def open_queue(page: Any, pid: int) -> Any:
    page.goto(f"/ui/#/label/{pid}")
    page.wait_for_selector(".task[data-ready]:not(.staged)")
    return page.locator(".task[data-ready]:not(.staged)")


def current_task(page: Any) -> int:
    return int(page.locator(".task[data-ready]:not(.staged)").get_attribute("data-task"))


def next_task(page: Any, after: int) -> int:
    page.wait_for_function(
        "(t) => { const el = document.querySelector('.task[data-ready]:not(.staged)'); return el && el.dataset.task !== String(t); }",
        arg=after,
    )
    return current_task(page)


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
