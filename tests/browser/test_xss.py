"""I-08 / I-09: text that users typed (project names, descriptions, labels, options, item texts,
prompts, responses, review reasons) is rendered as text in every view, under an enforced CSP.

Hostile strings go into every field a view shows; the test then visits the views in headless
Chromium and checks that no payload ran (no dialog, no marker set, no CSP violation reported: a
violation would mean markup got into the page and only the policy stopped it) and that the
payloads are shown literally."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.browser.conftest import Site, log_in

PAYLOADS = [
    '<img src=x onerror="window.__xss=1;alert(1)">',
    "<script>window.__xss=2;alert(2)</script>",
    '<svg onload="window.__xss=3">',
    '"><iframe src="javascript:window.__xss=4"></iframe>',
]
MARKDOWN = 'Click [here](javascript:window.__xss=5) or ![img](x" onerror="window.__xss=6) **<b onclick=window.__xss=7>bold</b>**'
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def _assert_clean(page: Any, dialogs: list[str]) -> None:
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.__xss") is None
    assert page.evaluate("() => window.__violations") == []
    assert dialogs == []


def test_I_08_stored_text_is_rendered_as_text_everywhere(page: Any, site: Site) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.add_init_script(WATCH)
    hostile = PAYLOADS[0]
    schema = {
        "controls": [
            {
                "name": "label",
                "type": "choices",
                "over": "text",
                "options": [PAYLOADS[1], PAYLOADS[2]],
                "description": PAYLOADS[3],
            },
            {
                "name": "ents",
                "type": "spans",
                "over": "text",
                "labels": [PAYLOADS[0], "ORG"],
                "required": False,
            },
            {
                "name": "grade",
                "type": "rating",
                "criteria": [{"name": PAYLOADS[1], "description": PAYLOADS[2]}],
                "required": False,
            },
        ]
    }
    pid = site.project(
        f"{hostile} {uuid.uuid4().hex[:6]}",
        schema,
        [{"text": f"{PAYLOADS[3]} {MARKDOWN}", "note": PAYLOADS[2]}],
        description=PAYLOADS[1],
        overlap=2,
    )
    pref = site.project(
        f"pref {PAYLOADS[2]}",
        {"controls": [{"name": "p", "type": "preference", "over": "responses"}]},
        [{"prompt": MARKDOWN, "responses": [PAYLOADS[0], PAYLOADS[1]]}],
    )
    rank = site.project(
        "rank",
        {"controls": [{"name": "r", "type": "ranking", "over": "responses"}]},
        [
            {
                "prompt": PAYLOADS[3],
                "responses": [PAYLOADS[2], MARKDOWN, [{"role": "user", "content": PAYLOADS[0]}]],
            }
        ],
    )
    # a review reason and an annotation whose answer carries the payload
    with site.api("ann2@acme.test") as c:
        h = c.post(f"/projects/{pid}/next").json()
        c.post(
            f"/tasks/{h['task']['id']}/annotations",
            json={
                "answer": {"label": PAYLOADS[1]},
                "lease_id": h["lease"]["id"],
                "idempotency_key": uuid.uuid4().hex,
            },
        ).raise_for_status()

    log_in(page, "ann@acme.test")
    page.wait_for_selector(f"text={hostile[:20]}")  # the project name, shown as text
    _assert_clean(page, dialogs)
    for project in (pid, pref, rank):
        page.goto(f"/ui/#/label/{project}")
        page.wait_for_selector(".task[data-ready]:not(.staged)")
        _assert_clean(page, dialogs)
    page.goto(f"/ui/#/label/{pid}")
    task = page.locator(".task[data-ready]:not(.staged)")
    task.wait_for()
    assert task.get_by_text(PAYLOADS[1]).count() >= 1  # an option, shown literally
    assert task.locator("iframe, svg, script, img[src=x]").count() == 0
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=No tasks for you right now.")

    page.click("#logout")
    log_in(page, "manager@acme.test")
    for view in (f"#/manage/{pid}", f"#/quality/{pid}", f"#/review/{pid}", "#/audit", "#/members", "#/new"):
        page.goto(f"/ui/{view}")
        page.wait_for_selector("main h1")
        page.wait_for_timeout(300)
        _assert_clean(page, dialogs)
    # the schema editor's live preview renders hostile config as text too
    page.goto("/ui/#/new")
    hostile_schema = {
        "controls": [{"name": "x", "type": "choices", "over": "text", "options": [PAYLOADS[0]]}]
    }
    page.fill("textarea[name=schema]", json.dumps(hostile_schema))
    page.wait_for_function("() => document.querySelectorAll('.preview button.choice').length === 1")
    assert page.locator(".preview button.choice").inner_text().endswith(PAYLOADS[0])
    _assert_clean(page, dialogs)


def test_I_09_item_files_are_not_pages(page: Any, site: Site) -> None:
    """An item file is served with nosniff and a sandboxing CSP, never as a page of the app."""
    from tests.browser.test_label_controls import image_zip

    pid = site.project_with_files(
        "files",
        {"controls": [{"name": "o", "type": "boxes", "over": "image", "labels": ["a"]}]},
        image_zip(1),
    )
    with site.api() as c:
        item = c.get(f"/projects/{pid}/items").json()
        items = item["items"] if isinstance(item, dict) else item
        r = c.get(f"/items/{items[0]['id']}/files/image")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in r.headers["content-security-policy"]
