"""Reference docs are generated from the code; the OpenAPI document is pinned."""

from __future__ import annotations

import json
from pathlib import Path

from labelhouse.api.app import create_app
from labelhouse.cli.reference import PAGES
from labelhouse.settings import SETTINGS, Settings, setting_names

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_reference_pages_match_the_code() -> None:
    for name, page in PAGES.items():
        path = DOCS / "reference" / name
        assert path.read_text() == page(), (
            f"docs/reference/{name} is stale: run python -m labelhouse.cli.reference docs/reference"
        )


def test_every_setting_is_documented() -> None:
    assert set(setting_names()) == set(SETTINGS)
    assert Settings.__dataclass_fields__.keys() == SETTINGS.keys()


def test_openapi_snapshot(sqlite_rt) -> None:  # type: ignore[no-untyped-def]
    current = create_app(sqlite_rt, run_jobs=False).openapi()
    path = DOCS / "openapi.json"
    pinned = json.loads(path.read_text())
    assert current == pinned, (
        "the public API changed: review it, then regenerate docs/openapi.json (see docs/api.md)"
    )


def test_quality_doc_names_the_default_method() -> None:
    from labelhouse.quality import DEFAULT_METHOD

    text = (DOCS / "quality.md").read_text()
    assert f"(default `{DEFAULT_METHOD}`" in text, "docs/quality.md names another default method"
