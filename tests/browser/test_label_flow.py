"""The labeling loop in the browser: prefetch, drafts across a reload, an offline submit retried
with its idempotency key, editing the previous answer, skipping."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Site, current_task, log_in, next_task, open_queue

CHOICES = {"name": "label", "type": "choices", "over": "text", "options": ["pos", "neg"]}


def _choices(site: Site, name: str, n: int) -> int:
    return site.project(name, {"controls": [CHOICES]}, [{"text": f"{name} item {i}"} for i in range(n)])


def _staged(page: Any) -> int:
    page.wait_for_selector(".task.staged[data-task]", state="attached")
    return int(page.locator(".task.staged[data-task]").get_attribute("data-task"))


def test_prefetch_shows_the_next_task_at_once(page: Any, site: Site) -> None:
    pid = _choices(site, "prefetch", 4)
    log_in(page)
    open_queue(page, pid)
    first = current_task(page)
    staged = _staged(page)  # the next task, claimed and built while this one is open
    assert staged != first
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    # The swap happens inside the key handler: no network wait, no loading message.
    assert current_task(page) == staged
    assert page.locator(".card.message").count() == 0
    third = _staged(page)
    assert third not in (first, staged)
    page.wait_for_function("() => performance.getEntriesByName('lh:task-switch').length >= 1")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    assert current_task(page) == third
    page.wait_for_function(
        "() => !document.getElementById('outbox') || document.getElementById('outbox').hidden"
    )
    got = {a["answer"]["label"] for a in site.annotations(pid)}
    assert got == {"pos", "neg"}


def test_draft_survives_a_reload(page: Any, site: Site) -> None:
    pid = site.project(
        "drafts", {"controls": [{"name": "reply", "type": "text", "min_length": 3}]}, [{"prompt": "Say hi"}]
    )
    log_in(page)
    open_queue(page, pid)
    task = current_task(page)
    page.keyboard.type("Half-written answer")
    page.wait_for_function("() => document.getElementById('task-status').textContent.includes('draft saved')")
    page.reload()
    page.wait_for_selector(".task[data-ready]:not(.staged)")
    assert current_task(page) == task  # the same lease comes back...
    assert (
        page.locator(".task:not(.staged) textarea").input_value() == "Half-written answer"
    )  # ...with the draft
    # The draft is on the server, not only in this browser: a fresh browser context sees it too.
    page.evaluate("() => localStorage.clear()")
    page.reload()
    page.wait_for_selector(".task[data-ready]:not(.staged)")
    assert page.locator(".task:not(.staged) textarea").input_value() == "Half-written answer"


def test_offline_submit_is_kept_and_retried(page: Any, site: Site) -> None:
    pid = _choices(site, "offline", 3)
    log_in(page)
    open_queue(page, pid)
    first = current_task(page)
    _staged(page)
    page.context.set_offline(True)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    second = next_task(page, first)  # the prefetched task shows even with the network down
    page.wait_for_selector("#outbox:not([hidden])")
    assert "1 answer waiting for the network" in page.locator("#outbox").inner_text()
    assert site.annotations(pid) == []
    # No task left in the browser: the view says why, and keeps the answers.
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_selector(".card.message:has-text('cannot be reached')")
    assert "2 answers waiting for the network" in page.locator("#outbox").inner_text()
    page.context.set_offline(False)
    page.wait_for_selector("#outbox[hidden]", state="attached", timeout=15000)
    assert next_task(page, second) not in (first, second)  # the queue resumes by itself
    stored = sorted(a["answer"]["label"] for a in site.annotations(pid))
    assert stored == ["neg", "pos"]  # each once, not twice


def test_edit_the_previous_answer(page: Any, site: Site) -> None:
    pid = _choices(site, "edit", 3)
    log_in(page)
    open_queue(page, pid)
    first = current_task(page)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    second = next_task(page, first)
    page.wait_for_function("() => document.getElementById('outbox').hidden")
    page.keyboard.press("Alt+b")
    page.wait_for_selector(".task[data-editing]")
    assert "Editing your answer" in page.locator(".banner").inner_text()
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_selector(".toast.ok")
    assert current_task(page) == second  # back to where the annotator was
    [record] = [a for a in site.annotations(pid)]
    assert record["answer"] == {"label": "neg"} and record["version"] == 2
    # Two answers later, Alt+B twice reaches the first one again.
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    next_task(page, second)
    page.wait_for_function("() => document.getElementById('outbox').hidden")
    page.keyboard.press("Alt+b")
    page.wait_for_selector(f".banner:has-text('task #{second}')")
    page.keyboard.press("Alt+b")
    page.wait_for_selector(f".banner:has-text('task #{first}')")
    assert page.locator(".task[data-editing]").count() == 1
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_selector(".toast.ok:has-text('version 3')")
    with site.api() as c:
        [latest] = c.get(f"/tasks/{first}/annotations").json()
    assert latest["answer"] == {"label": "pos"} and latest["version"] == 3


def test_skip(page: Any, site: Site) -> None:
    pid = _choices(site, "skip", 2)
    log_in(page)
    open_queue(page, pid)
    first = current_task(page)
    page.keyboard.press("Alt+s")
    second = next_task(page, first)
    assert second != first
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=No tasks for you right now.")
    assert len(site.annotations(pid)) == 1


def test_login_errors_and_logout(page: Any, site: Site) -> None:
    page.goto("/ui/")
    page.fill("input[name=email]", "ann@acme.test")
    page.fill("input[name=password]", "wrong password")
    page.click("form button[type=submit]")
    page.wait_for_selector("p.error:has-text('wrong email or password')")
    log_in(page)
    assert page.locator(".who").inner_text().startswith("ann@acme.test")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["lh_session"]["httpOnly"] and cookies["lh_session"]["sameSite"] == "Strict"
    assert page.evaluate("() => document.cookie") == ""  # scripts cannot read the session
    page.click("#logout")
    page.wait_for_selector("input[name=email]")
    page.goto("/ui/#/projects")
    page.wait_for_selector("input[name=email]")  # logged out for real


def test_release_gives_the_task_back(page: Any, site: Site) -> None:
    pid = _choices(site, "release", 2)
    log_in(page)
    open_queue(page, pid)
    first = current_task(page)
    _staged(page)
    page.keyboard.press("Alt+r")  # unlike skip, the task goes back to the queue...
    second = next_task(page, first)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    assert next_task(page, second) == first  # ...and comes back to whoever asks next
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=No tasks for you right now.")
    assert sorted(a["answer"]["label"] for a in site.annotations(pid)) == ["neg", "pos"]
