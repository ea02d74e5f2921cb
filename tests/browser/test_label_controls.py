"""Label a task with each control, once by keyboard alone and once by mouse, in headless Chromium,
and check what the server stored. Screenshots of three views go to docs/screenshots for the README."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from PIL import Image, ImageDraw

from tests.browser.conftest import SCREENSHOTS, Site, log_in, open_queue

TEXT = "Ada Lovelace met Charles Babbage in London in 1833."
PROMPT = "Explain recursion in one sentence."
RESPONSES = ["A function calling itself on a smaller input until a base case.", "It is recursion.", "A loop."]


def image_zip(count: int = 2, size: tuple[int, int] = (1000, 1000)) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n in range(count):
            img = Image.new("RGB", size, (220, 230 - n * 20, 240))
            d = ImageDraw.Draw(img)
            d.rectangle((200, 200, 420, 380), fill=(30, 80, 200))
            d.ellipse((600, 550, 820, 770), fill=(200, 40, 40))
            out = io.BytesIO()
            img.save(out, format="PNG")
            z.writestr(f"scene-{n}.png", out.getvalue())
    return buf.getvalue()


def answers(site: Site, pid: int) -> list[Any]:
    return [a["answer"] for a in site.annotations(pid)]


def _project(site: Site, name: str, control: dict[str, Any], rows: list[dict[str, Any]]) -> int:
    return site.project(name, {"controls": [control]}, rows)


@pytest.mark.parametrize("how", ["keyboard", "mouse"])
def test_choices(page: Any, site: Site, how: str) -> None:
    pid = _project(
        site,
        f"choices-{how}",
        {"name": "label", "type": "choices", "over": "text", "options": ["pos", "neg", "neutral"]},
        [{"text": TEXT}],
    )
    log_in(page)
    task = open_queue(page, pid)
    if how == "keyboard":
        page.keyboard.press("2")
        page.keyboard.press("Enter")
    else:
        task.locator("button.choice", has_text="neg").click()
        page.click("#submit")
    page.wait_for_selector("text=No tasks for you right now.")
    assert answers(site, pid) == [{"label": "neg"}]


@pytest.mark.parametrize("how", ["keyboard", "mouse"])
def test_spans(page: Any, site: Site, how: str) -> None:
    pid = _project(
        site,
        f"spans-{how}",
        {"name": "ents", "type": "spans", "over": "text", "labels": ["PER", "LOC"]},
        [{"text": TEXT}],
    )
    log_in(page)
    task = open_queue(page, pid)
    if how == "keyboard":
        page.keyboard.press("Control+Shift+ArrowRight")
        page.keyboard.press("Control+Shift+ArrowRight")
        page.keyboard.press("1")
        page.keyboard.press("Enter")
        expected = [{"start": 0, "end": 12, "label": "PER", "text": "Ada Lovelace"}]
    else:
        task.locator("button.chip", has_text="LOC").click()
        start = TEXT.index("London")
        box = page.evaluate(
            """([a, b]) => { const seg = document.querySelector('.task:not(.staged) .spans-text .seg');
                 const r = document.createRange(); r.setStart(seg.firstChild, a); r.setEnd(seg.firstChild, b);
                 const rects = r.getClientRects(); const f = rects[0], l = rects[rects.length - 1];
                 return [f.left + 1, f.top + f.height / 2, l.right - 1, l.top + l.height / 2]; }""",
            [start, start + len("London")],
        )
        page.mouse.move(box[0], box[1])
        page.mouse.down()
        page.mouse.move(box[2], box[3], steps=5)
        page.mouse.up()
        page.wait_for_selector(".task:not(.staged) .span-list li")
        page.click("#submit")
        expected = [{"start": start, "end": start + 6, "label": "LOC", "text": "London"}]
    page.wait_for_selector("text=No tasks for you right now.")
    assert answers(site, pid) == [{"ents": expected}]


@pytest.mark.parametrize("how", ["keyboard", "mouse"])
def test_boxes(page: Any, site: Site, how: str) -> None:
    control = {
        "name": "objects",
        "type": "boxes",
        "over": "image",
        "labels": ["square", "circle"],
        "shapes": ["rectangle", "polygon"],
    }
    pid = site.project_with_files(f"boxes-{how}", {"controls": [control]}, image_zip(1))
    log_in(page)
    task = open_queue(page, pid)
    canvas = task.locator("canvas.boxes")
    if how == "keyboard":
        page.keyboard.press("2")  # label: circle
        page.keyboard.press("Space")  # first corner at the crosshair (the image's center)
        for _ in range(5):
            page.keyboard.press("Shift+ArrowRight")
        for _ in range(3):
            page.keyboard.press("Shift+ArrowDown")
        page.keyboard.press("Space")
        page.wait_for_function(
            "() => document.querySelector('.task:not(.staged) canvas.boxes').dataset.objects === '1'"
        )
        page.keyboard.press("Enter")
        page.wait_for_selector("text=No tasks for you right now.")
        [answer] = answers(site, pid)
        assert answer == {
            "objects": [
                {"type": "rectangle", "label": "circle", "x": 500.0, "y": 500.0, "w": 50.0, "h": 30.0}
            ]
        }
    else:
        box = canvas.bounding_box()
        scale = box["width"] / 1000 if box["width"] / 1000 < box["height"] / 1000 else box["height"] / 1000
        ox = box["x"] + (box["width"] - 1000 * scale) / 2
        oy = box["y"] + (box["height"] - 1000 * scale) / 2
        page.mouse.move(ox + 200 * scale, oy + 200 * scale)
        page.mouse.down()
        page.mouse.move(ox + 420 * scale, oy + 380 * scale, steps=8)
        page.mouse.up()
        page.wait_for_function(
            "() => document.querySelector('.task:not(.staged) canvas.boxes').dataset.objects === '1'"
        )
        task.locator("button.chip", has_text="circle").click()  # relabels the selected box
        # Undo and redo the relabel: the box keeps its place either way.
        canvas.focus()
        page.keyboard.press("Control+z")
        page.keyboard.press("Control+Shift+z")
        page.click("#submit")
        page.wait_for_selector("text=No tasks for you right now.")
        [answer] = answers(site, pid)
        [obj] = answer["objects"]
        assert obj["label"] == "circle" and obj["type"] == "rectangle"
        assert (
            abs(obj["x"] - 200) < 4
            and abs(obj["y"] - 200) < 4
            and abs(obj["w"] - 220) < 6
            and abs(obj["h"] - 180) < 6
        )


@pytest.mark.parametrize("how", ["keyboard", "mouse"])
def test_text(page: Any, site: Site, how: str) -> None:
    pid = _project(
        site,
        f"text-{how}",
        {"name": "reply", "type": "text", "min_length": 5},
        [{"prompt": "Say hello **politely**.\n\n```\ncode block\n```"}],
    )
    log_in(page)
    task = open_queue(page, pid)
    assert task.locator("strong", has_text="politely").count() == 1  # markdown rendered as elements
    assert task.locator("pre.code").inner_text() == "code block"
    if how == "keyboard":
        # The editor has the focus as soon as the task shows: typing starts at once.
        page.keyboard.type("Hi")
        page.keyboard.press("Control+Enter")  # too short: refused, nothing sent
        page.wait_for_selector(".toast.error")
        page.keyboard.press("Escape")  # leave the editor; E comes back to it
        page.keyboard.press("e")
        page.keyboard.type(" there, friend")
        page.keyboard.press("Control+Enter")
    else:
        task.locator("textarea").click()
        page.keyboard.type("Hi there, friend")
        page.click("#submit")
    page.wait_for_selector("text=No tasks for you right now.")
    assert answers(site, pid) == [{"reply": "Hi there, friend"}]


def test_text_shows_the_chat_and_checks_the_config(page: Any, site: Site) -> None:
    chat = [
        {"role": "user", "content": "How do I print in **Python**?"},
        {"role": "assistant", "content": "Like this:\n\n```python\nprint('hi')\n```"},
    ]
    control = {"name": "rewrite", "type": "text", "min_length": 5, "max_length": 20}
    pid = _project(site, "text-chat", control, [{"chat": chat}])
    log_in(page)
    task = open_queue(page, pid)
    turns = task.locator(".chat .turn")
    assert [turns.nth(i).get_attribute("data-role") for i in range(2)] == ["user", "assistant"]
    assert task.locator(".turn[data-role=user] strong").inner_text() == "Python"
    code = task.locator(".turn[data-role=assistant] pre.code")
    assert code.get_attribute("data-lang") == "python" and code.inner_text() == "print('hi')"
    page.keyboard.type("This answer is far too long for the limit")
    assert "(at most 20)" in task.locator(".control.text span.error").inner_text()
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(".toast.error:has-text('at most 20')")
    task.locator("textarea").fill("Use print().")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("text=No tasks for you right now.")
    assert answers(site, pid) == [{"rewrite": "Use print()."}]


@pytest.mark.parametrize("how", ["keyboard", "mouse"])
def test_rating_rubric(page: Any, site: Site, how: str) -> None:
    control = {
        "name": "grade",
        "type": "rating",
        "min": 1,
        "max": 5,
        "criteria": [{"name": "helpful", "description": "answers it"}, {"name": "correct"}],
    }
    pid = _project(site, f"rating-{how}", control, [{"text": TEXT}])
    log_in(page)
    task = open_queue(page, pid)
    if how == "keyboard":
        page.keyboard.press("4")
        page.keyboard.press("2")
        page.keyboard.press("Enter")
    else:
        task.locator("[data-criterion=helpful] button[data-score='4']").click()
        task.locator("[data-criterion=correct] button[data-score='2']").click()
        page.click("#submit")
    page.wait_for_selector("text=No tasks for you right now.")
    assert answers(site, pid) == [{"grade": {"helpful": 4, "correct": 2}}]


@pytest.mark.parametrize("how", ["keyboard", "mouse"])
def test_ranking(page: Any, site: Site, how: str) -> None:
    pid = _project(
        site,
        f"ranking-{how}",
        {"name": "rank", "type": "ranking", "over": "responses"},
        [{"prompt": PROMPT, "responses": RESPONSES}],
    )
    log_in(page)
    task = open_queue(page, pid)
    if how == "keyboard":
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Shift+ArrowUp")
        page.keyboard.press("Enter")
        expected = [1, 0, 2]
    else:
        items = task.locator("ol.ranking li")
        items.nth(2).drag_to(items.nth(0))
        page.wait_for_selector(".task:not(.staged) ol.ranking li[data-rank='1'][data-index='2']")
        page.click("#submit")
        expected = [2, 0, 1]
    page.wait_for_selector("text=No tasks for you right now.")
    assert answers(site, pid) == [{"rank": expected}]


@pytest.mark.parametrize("how", ["keyboard", "mouse"])
def test_preference(page: Any, site: Site, how: str) -> None:
    control = {"name": "pref", "type": "preference", "over": "responses", "strength_scale": 3}
    pid = _project(site, f"preference-{how}", control, [{"prompt": PROMPT, "responses": RESPONSES[:2]}])
    log_in(page)
    task = open_queue(page, pid)
    if how == "keyboard":
        page.keyboard.press("b")
        page.keyboard.press("2")
        page.keyboard.press("r")
        page.keyboard.type("more complete")
        page.keyboard.press("Escape")
        page.keyboard.press("Enter")
        expected = {"winner": "b", "strength": 2, "reason": "more complete"}
    else:
        task.locator("article.response[data-side=a]").click()
        task.locator("button.score[data-score='3']").click()
        page.click("#submit")
        expected = {"winner": "a", "strength": 3}
    page.wait_for_selector("text=No tasks for you right now.")
    assert answers(site, pid) == [{"pref": expected}]


def test_help_overlay_lists_the_shortcuts(page: Any, site: Site) -> None:
    pid = _project(
        site,
        "help",
        {"name": "label", "type": "choices", "over": "text", "options": ["a", "b"]},
        [{"text": "x"}],
    )
    log_in(page)
    open_queue(page, pid)
    page.keyboard.press("?")
    dialog = page.locator("#help")
    assert "choose option 1" in dialog.inner_text() and "submit" in dialog.inner_text()
    page.keyboard.press("Escape")
    assert page.locator("#help").count() == 0


def _shot(page: Any, name: str) -> None:
    """The top of the page down to the end of the view (not the empty space below it)."""
    bottom = page.evaluate("() => Math.ceil(document.getElementById('main').getBoundingClientRect().bottom)")
    page.screenshot(
        path=str(SCREENSHOTS / f"{name}.png"),
        clip={"x": 0, "y": 0, "width": 1280, "height": min(900, bottom + 8)},
    )


def test_readme_screenshots(page: Any, site: Site) -> None:
    """The README's pictures of the labeling view, taken here so they follow the UI."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page)
    boxes = {
        "name": "objects",
        "type": "boxes",
        "over": "image",
        "labels": ["square", "circle"],
        "shapes": ["rectangle", "polygon"],
    }
    pid = site.project_with_files("Shapes", {"controls": [boxes]}, image_zip(1, (1200, 800)))
    task = open_queue(page, pid)
    canvas = task.locator("canvas.boxes")
    box = canvas.bounding_box()
    scale = min(box["width"] / 1200, box["height"] / 800)
    ox, oy = box["x"] + (box["width"] - 1200 * scale) / 2, box["y"] + (box["height"] - 800 * scale) / 2
    for (x1, y1, x2, y2), key in (((195, 195, 425, 385), "1"), ((595, 545, 825, 775), "2")):
        page.keyboard.press("Escape")  # deselect, so the label key picks the next label
        page.keyboard.press(key)
        page.mouse.move(ox + x1 * scale, oy + y1 * scale)
        page.mouse.down()
        page.mouse.move(ox + x2 * scale, oy + y2 * scale, steps=4)
        page.mouse.up()
    _shot(page, "boxes")
    spans = {"name": "entities", "type": "spans", "over": "text", "labels": ["PER", "LOC", "DATE"]}
    pid = _project(site, "People and places", spans, [{"text": TEXT}])
    open_queue(page, pid)
    steps = (
        (["Control+Shift+ArrowRight"] * 2, "1"),  # Ada Lovelace
        (["Control+ArrowRight"] + ["Control+Shift+ArrowRight"] * 2, "1"),  # Charles Babbage
        (["Control+ArrowRight"] + ["Control+Shift+ArrowRight"] * 3, "2"),  # "London in 1833." (a place)
        (["Control+Shift+ArrowLeft"], "3"),  # "1833." (a date inside the place: overlapping spans)
    )
    for presses, key in steps:
        for p in presses:
            page.keyboard.press(p)
        page.keyboard.press(key)
    overlap = page.locator(".task:not(.staged) .seg[data-labels='LOC DATE']")
    assert overlap.inner_text() == "1833."
    _shot(page, "spans")
    pref = {"name": "preference", "type": "preference", "over": "responses", "strength_scale": 3}
    pid = _project(site, "Which answer is better?", pref, [{"prompt": PROMPT, "responses": RESPONSES[:2]}])
    open_queue(page, pid)
    page.keyboard.press("a")
    page.keyboard.press("3")
    _shot(page, "preference")
    assert all((SCREENSHOTS / f"{n}.png").stat().st_size > 5000 for n in ("boxes", "spans", "preference"))
