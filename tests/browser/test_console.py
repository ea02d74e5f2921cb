"""The manager's console and the reviewer's view in the browser: create a project from a schema
with a live preview, import a file as a job with a progress bar, export, members and roles,
review decisions, and the quality page's charts."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.browser.conftest import Site, log_in

# Every import becomes a background job here, so the progress bar follows a real job.
SITE_SETTINGS = {"inline_import_mb": 0}
CHOICES = {"name": "label", "type": "choices", "over": "text", "options": ["pos", "neg"]}


def _wait_items(site: Site, pid: int, n: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with site.api() as c:
            if c.get(f"/projects/{pid}/stats").json()["tasks"] >= n:
                return
        time.sleep(0.1)
    raise AssertionError("the import job did not finish")


def test_switching_syntax_right_after_an_edit_is_not_undone(page: Any, site: Site) -> None:
    """The syntax switch reads the schema through the server; an edit's preview, due 250 ms
    after it, used to supersede that read when the server was slow, and the switch was undone.
    Every schema check is slowed to 600 ms here, so the preview falls due mid-switch."""
    log_in(page, "manager@acme.test")
    page.click("text=New project")
    page.wait_for_selector("textarea[name=schema]")

    def slow(route: Any) -> None:
        time.sleep(0.6)
        route.continue_()

    page.route("**/api/v1/schemas/check", slow)
    page.locator("textarea[name=schema]").fill(
        "controls:\n  - name: ents\n    type: spans\n    over: text\n    labels: [PER]\n"
    )
    page.select_option("select[name=syntax]", "json")  # at once, before the edit's preview
    page.wait_for_function("() => document.querySelector('textarea[name=schema]').value.startsWith('{')")
    assert page.locator("select[name=syntax]").input_value() == "json"
    page.wait_for_selector(".preview button.chip[data-label=PER]")


def test_create_project_with_preview_import_and_export(page: Any, site: Site, tmp_path: Path) -> None:
    log_in(page, "manager@acme.test")
    page.click("text=New project")
    page.fill("input[name=name]", "Entities from the console")
    # Every template, written as YAML by the page, is read back by the server and previewed.
    templates = {
        "Image boxes": "objects",
        "Preference (A vs B)": "preference",
        "Ranking": "rank",
        "SFT response": "response",
        "Rubric grading": "grade",
    }
    for template, control in templates.items():
        page.select_option("select[name=template]", template)
        page.wait_for_selector(f".preview .control-box[data-control={control}]")
        assert page.locator("p.error").inner_text() == ""
    page.select_option("select[name=template]", "Named entities")
    page.wait_for_selector(".preview .spans-text")  # the live preview uses the annotators' widget
    schema = page.locator("textarea[name=schema]")
    assert "type: spans" in schema.input_value()  # YAML by default
    schema.fill("controls:\n  - name: ents\n    type: spans\n   labels: [PER")
    page.wait_for_selector("p.error:has-text('not valid YAML: line 4')")
    schema.fill("controls:\n  - name: ents\n    type: spans\n    over: text\n    labels: []\n")
    page.wait_for_selector("p.error:has-text('schema.controls[0]')")  # checked as the server would
    schema.fill(
        "# entities, in YAML\ncontrols:\n  - name: ents\n    type: spans\n    over: text\n    labels: [PER, ORG]\n"
    )
    page.wait_for_selector(".preview button.chip[data-label=ORG]")
    assert page.locator("#schema-exports").inner_text() == "Exports: csv, jsonl"
    page.select_option("select[name=syntax]", "json")  # the same schema, written as JSON
    page.wait_for_function("() => document.querySelector('textarea[name=schema]').value.startsWith('{')")
    spans = {"controls": [{"name": "ents", "type": "spans", "over": "text", "labels": ["PER", "ORG"]}]}
    assert json.loads(schema.input_value()) == spans
    schema.fill('{"controls": [')
    page.wait_for_selector("p.error:has-text('not valid JSON')")
    schema.fill(json.dumps(spans))
    page.wait_for_selector("p.error:text-is('')", state="attached")
    # The form adds a control to the schema in the editor (in its syntax), and the preview follows.
    page.select_option("select[name=control_type]", "choices")
    page.fill("input[name=control_name]", "tone")
    page.fill("input[name=control_list]", "calm, angry")
    page.click("#add-control")
    page.wait_for_selector(".preview button.choice[data-option=angry]")
    tone = {"name": "tone", "type": "choices", "over": "text", "options": ["calm", "angry"]}
    assert json.loads(schema.input_value()) == {"controls": [*spans["controls"], tone]}
    page.click("text=Create project")
    page.wait_for_selector("h2:has-text('Import items')")
    pid = int(page.url.rsplit("/", 1)[1])
    with site.api() as c:
        assert [c["name"] for c in c.get(f"/projects/{pid}").json()["schema"]["controls"]] == ["ents", "tone"]
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        "".join(json.dumps({"text": f"Row {i} by Ada at Acme"}) + "\n" for i in range(250)) + "not json\n"
    )
    page.set_input_files("input[name=file]", str(rows))
    page.click("#import")
    page.wait_for_selector(".import-state:has-text('Imported: 250 new')", timeout=20000)
    assert "line 251" in page.locator(".import-state").inner_text()  # the bad row, by line number
    assert page.locator(".import-state progress").get_attribute("value") == "1"
    page.wait_for_selector("text=250 left")
    with site.api("ann@acme.test") as c:  # exports hold annotated tasks: label one
        h = c.post(f"/projects/{pid}/next").json()
        answer = {
            "answer": {"ents": [], "tone": "calm"},
            "lease_id": h["lease"]["id"],
            "idempotency_key": "console-1",
            "lead_time_s": 12.5,
        }
        c.post(f"/tasks/{h['task']['id']}/annotations", json=answer).raise_for_status()
    page.reload()  # each annotator's count and time per task
    page.wait_for_selector("table.people td:has-text('ann@acme.test')")
    assert page.locator("table.people tbody tr").first.inner_text().split("\t") == [
        "ann@acme.test",
        "1",
        "12.5 s",
    ]
    page.wait_for_selector("text=1 done · 0 in progress · 249 left")
    formats = page.locator("a[data-format]")
    assert [formats.nth(i).get_attribute("data-format") for i in range(formats.count())] == ["csv", "jsonl"]
    with page.expect_download() as download:
        page.click("a[data-format=jsonl]")
    assert download.value.suggested_filename == f"project-{pid}.jsonl"
    lines = Path(download.value.path()).read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["item"]["text"].startswith("Row ")


def test_members_and_roles(page: Any, site: Site) -> None:
    log_in(page, "owner@acme.test")
    page.click("#bar >> text=Members")
    page.fill("input[name=email]", "newcomer@acme.test")
    page.fill("input[name=password]", "a new long password")
    page.select_option("select[name=role]", "annotator")
    page.click("text=Add member")
    row = page.locator("tr[data-member='newcomer@acme.test']")
    row.wait_for()
    row.locator("select").select_option("reviewer")
    page.wait_for_selector(".toast.ok:has-text('is now reviewer')")
    row.locator("input.team").fill("Vendor North")
    row.locator("input.team").press("Enter")
    page.wait_for_selector(".toast.ok:has-text('is in team Vendor North')")
    with site.api() as c:
        members = {m["email"]: m for m in c.get("/members").json()}
    assert members["newcomer@acme.test"]["role"] == "reviewer"
    assert members["newcomer@acme.test"]["team"] == "Vendor North"


def _annotate(site: Site, who: str, pid: int, label: str) -> int:
    with site.api(who) as c:
        h = c.post(f"/projects/{pid}/next").json()
        r = c.post(
            f"/tasks/{h['task']['id']}/annotations",
            json={
                "answer": {"label": label},
                "lease_id": h["lease"]["id"],
                "idempotency_key": f"{who}-{pid}",
            },
        )
        r.raise_for_status()
        return int(h["task"]["id"])


def test_review_accept_reject_and_correct(page: Any, site: Site) -> None:
    pid = site.project("to review", {"controls": [CHOICES]}, [{"text": "review me"}], overlap=2)
    _wait_items(site, pid, 1)
    task_id = _annotate(site, "ann@acme.test", pid, "pos")
    assert _annotate(site, "ann2@acme.test", pid, "neg") == task_id
    log_in(page, "reviewer@acme.test")
    page.goto(f"/ui/#/review/{pid}")
    page.wait_for_selector("#which:has-text('Annotation 1 of 2')")
    page.keyboard.press("Alt+a")
    page.wait_for_selector("#which:has-text('Annotation 2 of 2')")
    page.click("#reject")
    page.wait_for_selector(".toast.error:has-text('reason')")
    page.fill("input[name=reason]", "the text is not negative")
    page.click("#reject")
    page.wait_for_selector("text=Nothing to review right now.")
    with site.api() as c:
        reviews = c.get(f"/tasks/{task_id}/reviews").json()
    decisions = sorted((r["decision"], r["reason"]) for r in reviews)
    assert decisions == [("accepted", None), ("rejected", "the text is not negative")]


def _chart_values(page: Any, selector: str) -> dict[str, float]:
    values: dict[str, float] = page.eval_on_selector_all(
        f"{selector} rect[data-label]",
        "els => Object.fromEntries(els.map(e => [e.dataset.label, Number(e.dataset.value)]))",
    )
    return values


def test_quality_page_shows_charts(page: Any, site: Site) -> None:
    pid = site.project("quality", {"controls": [CHOICES]}, [{"text": f"q{i}"} for i in range(3)], overlap=2)
    _wait_items(site, pid, 3)
    for n in range(3):
        _annotate_any(site, "ann@acme.test", pid, "pos")
        _annotate_any(site, "ann2@acme.test", pid, "pos" if n else "neg")
    with site.api() as c:
        report = c.get(f"/projects/{pid}/quality").json()["controls"]["label"]
    log_in(page, "manager@acme.test")
    page.goto(f"/ui/#/quality/{pid}")
    section = page.locator("section.quality[data-control=label]")
    section.wait_for()
    counts = page.eval_on_selector_all(
        "section.quality[data-control=label] svg.chart rect[data-count]",
        "els => els.map(e => Number(e.dataset.count))",
    )
    assert counts == report["confidence_histogram"] and sum(counts) == 3
    reliability = _chart_values(page, "section.quality[data-control=label] .reliability")
    assert reliability == {a["annotator"]: a["reliability"] for a in report["annotators"]}
    pairs = _chart_values(page, "section.quality[data-control=label] .pairs")
    [pair] = report["agreement"]["pairs"]
    assert pairs == {f"{pair['a']} · {pair['b']}": pair["value"]}
    per_label = _chart_values(page, "section.quality[data-control=label] .per-label")
    assert per_label == {x["label"]: x["alpha"] for x in report["agreement"]["per_label"]}
    facts = section.locator(".facts").inner_text()
    assert "3 tasks" in facts and "6 answers" in facts and "Fleiss" in facts


def test_quality_page_leaderboard_of_a_preference_project(page: Any, site: Site) -> None:
    pref = {"name": "pref", "type": "preference", "over": "responses"}
    models = [("strong", "weak"), ("weak", "strong"), ("strong", "mid"), ("mid", "weak")]
    rows = [
        {"prompt": f"p{i}", "responses": [{"model": a, "text": a}, {"model": b, "text": b}]}
        for i, (a, b) in enumerate(models)
    ]
    pid = site.project("arena", {"controls": [pref]}, rows, overlap=2)
    _wait_items(site, pid, 4)
    better = {"strong": 3, "mid": 2, "weak": 1}
    for who, upset in (("ann@acme.test", -1), ("ann2@acme.test", 3)):
        for n in range(4):
            with site.api(who) as c:
                h = c.post(f"/projects/{pid}/next").json()
                a, b = (r["model"] for r in h["task"]["item"]["responses"])
                winner = "a" if better[a] > better[b] else "b"
                if n == upset:  # one surprising vote keeps every model with a win and a loss
                    winner = "b" if winner == "a" else "a"
                c.post(
                    f"/tasks/{h['task']['id']}/annotations",
                    json={
                        "answer": {"pref": {"winner": winner}},
                        "lease_id": h["lease"]["id"],
                        "idempotency_key": f"{who}{n}",
                    },
                ).raise_for_status()
    with site.api() as c:
        board = c.get(f"/projects/{pid}/quality").json()["controls"]["pref"]["leaderboard"]
    assert board["ranks"] == "models" and board["entries"][0]["name"] == "strong"
    log_in(page, "manager@acme.test")
    page.goto(f"/ui/#/quality/{pid}")
    page.locator("section.quality[data-control=pref] .leaderboard").wait_for()
    shown = _chart_values(page, "section.quality[data-control=pref] .leaderboard")
    assert list(shown) == [f"{e['rank']}. {e['name']}" for e in board["entries"]]
    assert shown == {f"{e['rank']}. {e['name']}": e["win_vs_average"] for e in board["entries"]}
    whiskers = page.eval_on_selector_all(
        "section.quality[data-control=pref] .leaderboard line[data-low]",
        "els => els.map(e => [Number(e.dataset.low), Number(e.dataset.high)])",
    )
    assert whiskers == [e["win_ci95"] for e in board["entries"]]
    bias = _chart_values(page, "section.quality[data-control=pref] .bias")
    assert bias == {"first shown wins": board["position_bias"]["left_rate"]}
    # and the same net of the models' strength, from the pairs shown both ways (or why not)
    within = board["position_bias"]["within_pairs"]
    text = page.inner_text("section.quality[data-control=pref]")
    if within is None:
        assert "No pair was shown both ways" in text
    else:
        assert f"Within the {within['pairs']} pair(s) shown both ways ({within['votes']} votes)" in text


def _annotate_any(site: Site, who: str, pid: int, label: str) -> None:
    import uuid

    with site.api(who) as c:
        h = c.post(f"/projects/{pid}/next").json()
        c.post(
            f"/tasks/{h['task']['id']}/annotations",
            json={
                "answer": {"label": label},
                "lease_id": h["lease"]["id"],
                "idempotency_key": uuid.uuid4().hex,
            },
        ).raise_for_status()


def test_review_correct_makes_a_new_version(page: Any, site: Site) -> None:
    pid = site.project("to correct", {"controls": [CHOICES]}, [{"text": "fix me"}])
    _wait_items(site, pid, 1)
    task_id = _annotate(site, "ann@acme.test", pid, "pos")
    log_in(page, "reviewer@acme.test")
    page.goto(f"/ui/#/review/{pid}")
    page.wait_for_selector("#which:has-text('Annotation 1 of 1')")
    page.keyboard.press("2")  # the reviewer picks the right option in the same widget
    page.keyboard.press("Alt+c")
    page.wait_for_selector("text=Nothing to review right now.")
    with site.api() as c:
        [review] = c.get(f"/tasks/{task_id}/reviews").json()
        latest = c.get(f"/tasks/{task_id}/annotations").json()
    assert review["decision"] == "corrected" and review["correction_id"]
    assert [a["answer"] for a in latest] == [{"label": "neg"}]


def test_quality_policy_and_audit_log(page: Any, site: Site) -> None:
    pid = site.project("policy", {"controls": [CHOICES]}, [{"text": "p"}])
    with site.api() as c:  # a setting the form has no field for: saving the form keeps it
        c.patch(f"/projects/{pid}", json={"quality": {"stop_rule": "posterior"}}).raise_for_status()
    log_in(page, "manager@acme.test")
    page.goto(f"/ui/#/quality/{pid}")
    page.fill("input[name=target_confidence]", "0.9")
    page.fill("input[name=min_labels]", "1")
    page.fill("input[name=max_labels]", "3")
    page.fill("input[name=budget_labels]", "40")
    page.fill("input[name=gold_pass]", "")  # empty: the default (null would have no meaning)
    page.click("text=Save policy")
    page.wait_for_selector(".toast.ok:has-text('Quality policy saved')")
    page.wait_for_selector("section.adaptive")
    with site.api() as c:
        quality = c.get(f"/projects/{pid}").json()["quality"]
    assert (
        quality["target_confidence"] == 0.9 and quality["max_labels"] == 3 and quality["budget_labels"] == 40
    )
    assert quality["stop_rule"] == "posterior" and quality["gold_pass"] == 0.8
    adaptive = page.inner_text("section.adaptive")
    assert "posterior rule" in adaptive and "labels saved" in adaptive and "not bought" in adaptive
    page.click("#bar >> text=Audit log")
    page.wait_for_selector("td:has-text('login')")
    assert page.locator("tbody tr").count() >= 2


def test_audit_log_shows_an_annotators_handouts(page: Any, site: Site) -> None:
    pid = site.project("handouts", {"controls": [CHOICES]}, [{"text": "seen"}, {"text": "unseen"}])
    _wait_items(site, pid, 2)  # imports are jobs on this site
    with site.api("ann2@acme.test") as c:
        handed = c.post(f"/projects/{pid}/next").json()["task"]
    with site.api() as c:  # a member who has seen nothing yet
        c.post("/members", json={"email": "idle@acme.test", "role": "annotator"}).raise_for_status()
    log_in(page, "manager@acme.test")
    page.goto("/ui/#/audit")
    page.wait_for_selector("td:has-text('login')")
    assert page.locator("td:has-text('task_handout')").count() == 0  # not in the workspace's chain
    page.select_option("select[name=lane]", label="Tasks handed out to ann2@acme.test")
    row = page.locator(f"tbody tr:has(td:text-is('item:{handed['item_id']}'))")
    row.wait_for()
    assert row.locator("td").nth(1).inner_text() == "ann2@acme.test"
    assert row.locator("td").nth(2).inner_text() == "task_handout"
    assert f'"task":{handed["id"]}' in row.locator("td").nth(4).inner_text()
    page.select_option("select[name=lane]", label="Tasks handed out to idle@acme.test")
    page.wait_for_selector("td:has-text('No events in this chain.')")


def test_review_corrects_boxes_with_the_same_widget(page: Any, site: Site) -> None:
    from tests.browser.test_label_controls import image_zip

    control = {"name": "objects", "type": "boxes", "over": "image", "labels": ["a", "b"]}
    pid = site.project_with_files("review boxes", {"controls": [control]}, image_zip(1))
    _wait_items(site, pid, 1)
    boxes = [
        {"type": "rectangle", "label": "a", "x": 10, "y": 10, "w": 50, "h": 50},
        {"type": "rectangle", "label": "a", "x": 200, "y": 200, "w": 50, "h": 50},
    ]
    with site.api("ann@acme.test") as c:
        h = c.post(f"/projects/{pid}/next").json()
        body = {"answer": {"objects": boxes}, "lease_id": h["lease"]["id"], "idempotency_key": "review-boxes"}
        c.post(f"/tasks/{h['task']['id']}/annotations", json=body).raise_for_status()
    log_in(page, "reviewer@acme.test")
    page.goto(f"/ui/#/review/{pid}")
    page.wait_for_selector("#which:has-text('Annotation 1 of 1')")
    page.wait_for_selector(".task:not(.staged) canvas.boxes[data-objects='2']")
    page.keyboard.press("]")  # the widget's keys: select the first box...
    page.keyboard.press("Delete")  # ...delete it
    page.keyboard.press("]")
    page.keyboard.press("2")  # relabel the other one
    page.keyboard.press("Alt+c")
    page.wait_for_selector("text=Nothing to review right now.")
    with site.api() as c:
        [latest] = c.get(f"/tasks/{h['task']['id']}/annotations").json()
    assert latest["version"] == 2
    assert latest["answer"] == {"objects": [{**boxes[1], "label": "b"}]}


def test_limit_a_member_to_projects(page: Any, site: Site) -> None:
    mine = site.project("vendor work", {"controls": [CHOICES]}, [{"text": "v"}])
    site.project("in-house only", {"controls": [CHOICES]}, [{"text": "h"}])
    log_in(page, "owner@acme.test")
    page.click("#bar >> text=Members")
    row = page.locator("tr[data-member='ann2@acme.test']")
    row.locator("td.scope:has-text('all projects')").wait_for()
    row.locator("button[aria-label='projects of ann2@acme.test']").click()
    row.locator("input[name=all]").uncheck()
    row.locator(f"input[value='{mine}']").check()
    row.locator("text=Save").click()
    page.wait_for_selector(".toast.ok:has-text('projects saved')")
    row.locator("td.scope:has-text('vendor work')").wait_for()
    with site.api() as c:
        [m] = [m for m in c.get("/members").json() if m["email"] == "ann2@acme.test"]
    assert m["projects"] == [mine]
    page.click("#logout")
    log_in(page, "ann2@acme.test")  # the vendor's annotator sees only that project
    page.wait_for_selector(".card.project")
    cards = page.locator(".card.project")
    assert [cards.nth(i).get_attribute("data-project") for i in range(cards.count())] == [str(mine)]
    with site.api() as c:
        c.patch(f"/members/{m['user_id']}", json={"all_projects": True}).raise_for_status()


def test_switch_workspace(page: Any, site: Site) -> None:
    from labelhouse.services import accounts
    from labelhouse.services.clock import utcnow
    from tests.browser.conftest import PASSWORD

    with site.rt.db.session() as s:
        accounts.create_user_cli(
            s,
            "multi@acme.test",
            workspace="acme",
            role="annotator",
            password=PASSWORD,
            with_token=False,
            now=utcnow(),
        )
        _u, _ws, issued = accounts.create_user_cli(
            s,
            "multi@acme.test",
            workspace="beta",
            role="manager",
            password=PASSWORD,
            with_token=True,
            now=utcnow(),
        )
    assert issued is not None
    import httpx

    with httpx.Client(
        base_url=f"{site.url}/api/v1", headers={"Authorization": f"Bearer {issued.token}"}
    ) as c:
        beta = c.post("/projects", json={"name": "beta's project", "schema": {"controls": [CHOICES]}}).json()[
            "id"
        ]
    log_in(page, "multi@acme.test")
    pick = page.locator("select#workspace")
    names = pick.locator("option").all_inner_texts()
    assert sorted(names) == ["acme", "beta"]
    if pick.locator("option:checked").inner_text() == "beta":
        pick.select_option(label="acme")
        page.wait_for_selector(".who:has-text('annotator')")
    page.wait_for_selector(".card.project")
    assert page.locator(f".card.project[data-project='{beta}']").count() == 0
    pick.select_option(label="beta")
    page.wait_for_selector(".who:has-text('manager')")
    page.wait_for_selector(f".card.project[data-project='{beta}']")
    assert page.locator(".card.project").count() == 1
    assert page.locator("a:has-text('New project')").count() == 1  # a manager here


def test_owner_deletes_a_workspace_from_the_account_page(page: Any, site: Site) -> None:
    """K-05 in the console: a wrong name is refused and changes nothing; the right one deletes the
    workspace, destroys its key and ends the session."""
    from labelhouse.services import accounts
    from labelhouse.services.clock import utcnow
    from tests.browser.conftest import PASSWORD

    with site.rt.db.session() as s:
        _u, ws, _issued = accounts.create_user_cli(
            s,
            "doomed@gamma.test",
            workspace="gamma",
            role="owner",
            password=PASSWORD,
            with_token=False,
            now=utcnow(),
        )
        gamma = ws.id
    log_in(page, "doomed@gamma.test")
    page.goto("/ui/#/account")
    form = page.locator("#delete-workspace-form")
    form.locator("input[name=confirm]").fill("gama")
    form.locator("input[name=reason]").fill("pilot over")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#delete-workspace-form .error:has-text('gamma')")
    assert site.rt.vault.keyring.status()["workspaces"][str(gamma)]["versions"]
    form.locator("input[name=confirm]").fill("gamma")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("input[name=email]")  # back at the login form
    state = site.rt.vault.keyring.status()["workspaces"][str(gamma)]
    assert state["versions"] == [] and state["reason"] == "pilot over"
