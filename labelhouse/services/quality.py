"""A project's quality report: per control, consensus with confidence, annotator reliability
(estimated, exact from gold, per team and per week), agreement, and leaderboards."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from labelhouse.core.actor import Actor
from labelhouse.core.errors import NotFound, TooLarge
from labelhouse.quality.task import answer_fits, gold_match
from labelhouse.quality.wilson import wilson
from labelhouse.services.clock import aware
from labelhouse.services.item_data import open_fields
from labelhouse.services.projects import get_project, policy_of, schemas
from labelhouse.storage.rawsql import Raw, json_value
from labelhouse.storage.tables import Job, Project

MAX_ANSWERS = 2_000_000
KIND = "quality"  # the recompute job's kind (services.quality_jobs)

__all__ = ["MAX_ANSWERS", "adaptive_figures", "build_report", "project_quality", "wilson"]


def project_quality(
    s: Session, actor: Actor, project_id: int, *, method: str | None = None, stored: bool = False
) -> dict[str, Any]:
    """The report of every control of the project (see docs/quality.md, "A project's report").

    ``stored``: the result of the latest recompute job instead of a fresh computation. A project
    over ``MAX_ANSWERS`` answers gets its stored report, or TooLarge when it has none yet."""
    from labelhouse.quality import get_method

    project = get_project(s, actor, project_id, "project.stats")
    chosen = get_method(method).name if method else None  # a bad name is refused, stored or not
    if stored:
        found = stored_report(s, project.id)
        if found is None or (chosen is not None and found.get("method") != chosen):
            done = "" if found is None else f" with method {chosen} (the latest used {found.get('method')})"
            query, flag = (f"?method={chosen}", f" --method {chosen}") if chosen else ("", "")
            raise NotFound(
                f"project {project.id} has no recomputed report{done} yet; start one with "
                f"POST /projects/{project.id}/quality/recompute{query} or "
                f"`labelhouse quality recompute {project.id}{flag}`"
            )
        return found
    if count_answers(s, project.id) > MAX_ANSWERS and (found := stored_report(s, project.id)) is not None:
        if chosen is None or found.get("method") == chosen:
            return found
    return build_report(s, project, method=method, limit=MAX_ANSWERS)


def stored_report(s: Session, project_id: int) -> dict[str, Any] | None:
    """The result of the project's latest successful recompute job, with its job id."""
    job = s.scalars(
        select(Job)
        .where(Job.project_id == project_id, Job.kind == KIND, Job.state == "succeeded")
        .order_by(Job.id.desc())
        .limit(1)
    ).first()
    if job is None or not isinstance(job.result, dict):
        return None
    return {**job.result, "job_id": job.id}


def count_answers(s: Session, project_id: int) -> int:
    return int(
        s.execute(
            text(
                "SELECT COUNT(*) FROM annotations WHERE project_id = :p AND is_latest AND deleted_at IS NULL"
            ),
            {"p": project_id},
        ).scalar_one()
    )


def build_report(
    s: Session,
    project: Project,
    *,
    method: str | None = None,
    limit: int | None = MAX_ANSWERS,
    on_control: Callable[[int, int], None] | None = None,
    on_load: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """The report, without the permission check (the job calls it for an already checked actor).

    ``limit``: refuse projects with more counted answers (None: no limit, as the job runs it);
    ``on_load(fraction)`` reports the share of tasks read after each page of the load, and
    ``on_control(done, total)`` progress after each control."""
    from labelhouse.quality import DEFAULT_METHOD, get_method
    from labelhouse.quality.control_report import control_report

    chosen = get_method(method or DEFAULT_METHOD)
    schema = schemas.get(project)
    if limit is not None and (count := count_answers(s, project.id)) > limit:
        query, flag = (f"?method={chosen.name}", f" --method {chosen.name}") if method else ("", "")
        raise TooLarge(
            f"the project has {count} annotations; the report handles up to {limit} at once: "
            f"start a recompute job (POST /projects/{project.id}/quality/recompute{query}, "
            f"`labelhouse quality recompute {project.id}{flag}`); the report then reads its result"
        )
    reported = [c for c in schema.controls if c.type in REPORTED]
    fits = {c.name: answer_fits(c) for c in reported}
    loaded = load_answers(s, project, [c.name for c in reported], on_page=on_load, fits=fits)
    controls: dict[str, Any] = {}
    for done, config in enumerate(reported, start=1):
        answers = loaded.answers[config.name]
        gold = loaded.gold[config.name]
        gold_times = [
            (email, week, "gold", float(gold_match(config, value, wanted)))
            for (email, value, wanted), week in zip(gold, loaded.gold_weeks[config.name], strict=True)
        ]
        responses = (
            _responses(s, project.id, config, answers) if config.type in ("preference", "ranking") else None
        )
        report = control_report(
            config,
            answers,
            gold,
            method=chosen.name,
            responses=responses,
            low_confidence=policy_of(project).review_below,
        )
        section = report.section
        for entry in section["annotators"]:
            entry["team"] = loaded.teams.get(entry["annotator"])
        section["teams"] = team_figures(section["annotators"])
        scored = _with_weeks(report.answer_scores, answers, loaded.weeks[config.name]) + gold_times
        section["weeks"] = weekly(scored)
        section["team_weeks"] = team_weekly(scored, loaded.teams)
        controls[config.name] = section
        # this control's rows are done with: the next one runs without them
        loaded.answers[config.name] = []
        if on_control is not None:
            on_control(done, len(reported))
    return {
        "project_id": project.id,
        "method": chosen.name,
        "computed_at": None,
        "controls": controls,
        "adaptive": adaptive_figures(s, project),
    }


@dataclass
class Loaded:
    """A project's counted answers, per reported control: ``answers`` (task, annotator, value) of
    non-gold tasks in (task, answer) order with ``weeks``, each answer's week (aligned);
    ``gold`` (annotator, given, expected) with ``gold_weeks``; and each annotator's team."""

    answers: dict[str, list[tuple[str, str, Any]]]
    weeks: dict[str, list[str]]
    gold: dict[str, list[tuple[str, Any, Any]]]
    gold_weeks: dict[str, list[str]]
    teams: dict[str, str]


# Tasks per page of the load: the driver holds one page of answer rows at a time.
LOAD_PAGE = 20_000


def load_answers(
    s: Session,
    project: Project,
    names: list[str],
    *,
    on_page: Callable[[float], None] | None = None,
    fits: Mapping[str, Callable[[Any], bool]] | None = None,
) -> Loaded:
    """Read the counted answers (latest versions, not trashed, not rejected) a page of tasks at a
    time, keeping only each control's value: the rows, decoded answers and driver buffers of one
    page live at a time, and equal strings (task ids, annotators, labels, weeks) are shared.
    ``on_page(fraction)``: the share of the project's tasks read so far, after each page;
    ``fits``: per control, which values to keep (``answer_fits``; default all)."""
    db = Raw.of(s)
    total = 0
    if on_page is not None:
        found = db.first(
            "SELECT COUNT(*) FROM tasks WHERE project_id = :p AND state != 'trashed'", {"p": project.id}
        )
        total = int(found[0]) if found else 0
    read = 0
    people: dict[int, str] = {}
    teams: dict[str, str] = {}
    for uid, email, team in db.all(
        "SELECT u.id, u.email, m.team FROM users u "
        "LEFT JOIN memberships m ON m.user_id = u.id AND m.workspace_id = :w "
        "WHERE u.id IN (SELECT DISTINCT user_id FROM annotations WHERE project_id = :p)",
        {"p": project.id, "w": project.workspace_id},
    ):
        people[int(uid)] = str(email)
        if team:
            teams[str(email)] = str(team)
    out = Loaded(
        {n: [] for n in names}, {n: [] for n in names}, {n: [] for n in names}, {n: [] for n in names}, teams
    )
    shared: dict[Any, Any] = {}  # one object per distinct label and week
    after = 0
    while True:
        tasks = db.all(
            "SELECT id, is_gold, gold_answer FROM tasks WHERE project_id = :p AND id > :a "
            "AND state != 'trashed' ORDER BY id LIMIT :n",
            {"p": project.id, "a": after, "n": LOAD_PAGE},
        )
        if not tasks:
            return out
        read += len(tasks)
        gold = {int(t): json_value(g) for t, is_gold, g in tasks if is_gold}
        first, after = int(tasks[0][0]), int(tasks[-1][0])
        rows = db.all(
            "SELECT task_id, user_id, answer, created_at FROM annotations "
            "WHERE project_id = :p AND task_id BETWEEN :a AND :b AND is_latest AND deleted_at IS NULL "
            "AND (review IS NULL OR review != 'rejected') ORDER BY task_id, id",
            {"p": project.id, "a": first, "b": after},
        )
        kept = {int(t) for t, _g, _a in tasks}  # trashed tasks in the id range are not
        task_key, last_task, counted, is_gold = "", None, False, False
        for task_id, uid, raw_answer, created in rows:
            if task_id != last_task:
                last_task, task_key = task_id, str(task_id)
                counted, is_gold = int(task_id) in kept, int(task_id) in gold
            if not counted:
                continue
            answer = json_value(raw_answer)
            email = people.get(int(uid), str(uid))
            week = week_of(created, shared)
            for name in names:
                value = answer.get(name)
                if value is not None and fits is not None and not fits[name](value):
                    continue
                if isinstance(value, str):
                    value = shared.setdefault(value, value)
                if is_gold:
                    # a control the gold answer fills; left unanswered (None), it is scored wrong,
                    # as the auto-pause scores it (quality.task.gold_correct)
                    wanted = (gold[int(task_id)] or {}).get(name)
                    if wanted is not None and (fits is None or fits[name](wanted)):
                        out.gold[name].append((email, value, wanted))
                        out.gold_weeks[name].append(week)
                    continue
                if value is None:
                    continue
                out.answers[name].append((task_key, email, value))
                out.weeks[name].append(week)
        if on_page is not None:
            on_page(min(1.0, read / total) if total else 1.0)


def week_of(created: Any, cache: dict[Any, Any]) -> str:
    """The Monday (ISO date) of the UTC week of a stored time: SQLite hands raw SQL the text
    SQLAlchemy wrote (naive UTC), PostgreSQL a datetime. Memoised per day in ``cache``."""
    if isinstance(created, str):
        day = created[:10]
        found = cache.get(("week", day))
        if found is None:
            when = date.fromisoformat(day)
            found = cache[("week", day)] = (when - timedelta(days=when.weekday())).isoformat()
        return str(found)
    when = aware(created).astimezone(UTC).date()
    found = cache.get(("week", when))
    if found is None:
        found = cache[("week", when)] = (when - timedelta(days=when.weekday())).isoformat()
    return str(found)


def _with_weeks(
    scores: list[tuple[str, str, float]], answers: list[tuple[str, str, Any]], weeks: list[str]
) -> list[tuple[str, str, str, float]]:
    """Each score (task, annotator, score) with its answer's week. Scores come in the order of
    the answers they score (a subset: tasks with two or more answers), so one walk pairs them."""
    out: list[tuple[str, str, str, float]] = []
    j = 0
    for task, annotator, score in scores:
        while j < len(answers) and (answers[j][0] != task or answers[j][1] != annotator):
            j += 1
        if j == len(answers):
            break
        out.append((annotator, weeks[j], "estimated", score))
        j += 1
    return out


def adaptive_figures(s: Session, project: Project) -> dict[str, Any]:
    """Labels spent and saved by adaptive overlap. Saved is, over complete tasks that reached the
    target confidence (or max_labels), what a fixed overlap of ``max_labels`` would have cost
    minus what they took. Complete tasks the budget stopped below the target are counted apart
    (``tasks_short``, and ``labels_short``: the labels not bought for them): those labels were
    not saved, the target was given up."""
    policy = policy_of(project)
    short = "state = 'complete' AND done < :m AND (confidence IS NULL OR confidence < :t)"
    row = s.execute(
        text(
            "SELECT COUNT(*), COALESCE(SUM(done), 0), "
            "COALESCE(SUM(CASE WHEN state = 'complete' THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN state = 'complete' THEN done ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN {short} THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN {short} THEN done ELSE 0 END), 0) "
            "FROM tasks WHERE project_id = :p AND workspace_id = :w AND is_gold = :no AND state != 'trashed'"
        ),
        {
            "p": project.id,
            "w": project.workspace_id,
            "no": False,
            "m": policy.max_labels,
            "t": policy.target_confidence or 0.0,
        },
    ).one()
    tasks, labels, complete, labels_complete, short_tasks, short_done = (int(v) for v in row)
    if not policy.adaptive:
        short_tasks = short_done = 0
    labels_short = short_tasks * policy.max_labels - short_done
    saved = (
        (complete - short_tasks) * policy.max_labels - (labels_complete - short_done)
        if policy.adaptive
        else 0
    )
    cost = policy.label_cost
    return {
        "enabled": policy.adaptive,
        "target_confidence": policy.target_confidence,
        "min_labels": policy.min_labels,
        "max_labels": policy.max_labels,
        "budget_labels": policy.budget_labels,
        "stop_rule": policy.stop_rule,
        "annotator_weights": policy.annotator_weights,
        "extra_labels": int(project.extra_labels or 0),
        "tasks": tasks,
        "complete_tasks": complete,
        "labels": labels,
        "labels_saved": saved,
        "tasks_short": short_tasks,
        "labels_short": labels_short,
        "spent": None if cost is None else round(labels * cost, 4),
        "saved": None if cost is None else round(saved * cost, 4),
    }


REPORTED = frozenset({"choices", "spans", "boxes", "rating", "ranking", "preference"})


def _responses(
    s: Session, project_id: int, config: Any, answers: list[tuple[str, str, Any]]
) -> dict[str, Any]:
    """task -> the item's ``over`` field (the responses a preference or ranking compares)."""
    tasks = sorted({int(t) for t, _a, _v in answers})
    out: dict[str, Any] = {}
    for start in range(0, len(tasks), 1000):
        chunk = tasks[start : start + 1000]
        for task_id, data, workspace_id, digest in s.execute(
            text(
                "SELECT t.id, i.data, i.workspace_id, i.content_hash FROM tasks t JOIN items i ON i.id = t.item_id "
                "WHERE t.project_id = :p AND t.id IN (" + ",".join(str(t) for t in chunk) + ")"
            ),
            {"p": project_id},
        ):
            out[str(task_id)] = open_fields(s, workspace_id, project_id, digest, data).get(config.over)
    return out


def team_figures(annotators: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per vendor team: gold accuracy over the team's gold answers (with its Wilson interval) and
    the estimated reliability, the members' reliabilities weighted by their answers."""
    from labelhouse.quality.wilson import wilson

    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in annotators:
        by[a.get("team") or ""].append(a)
    out = []
    for team, members in sorted(by.items()):
        correct = sum(m["gold"]["correct"] for m in members)
        total = sum(m["gold"]["answered"] for m in members)
        weighted = [(m["reliability"], m["answers"]) for m in members if m["reliability"] is not None]
        weight = sum(n for _r, n in weighted)
        out.append(
            {
                "team": team or None,
                "annotators": len(members),
                "answers": sum(m["answers"] for m in members),
                "reliability": round(sum(r * n for r, n in weighted) / weight, 4) if weight else None,
                "gold": {
                    "answered": total,
                    "correct": correct,
                    "accuracy": correct / total if total else None,
                    "ci95": [round(x, 4) for x in wilson(correct, total)],
                },
            }
        )
    return out


def team_weekly(scores: list[tuple[str, str, str, float]], teams: Mapping[str, str]) -> list[dict[str, Any]]:
    """``weekly`` per vendor team instead of per annotator: the week's scored answers and gold
    answers of the team's members pooled (``team`` null: members without a team)."""
    rows = weekly([(teams.get(who, ""), week, kind, score) for who, week, kind, score in scores])
    return [{"team": row.pop("annotator") or None, **row} for row in rows]


def weekly(scores: list[tuple[str, str, str, float]]) -> list[dict[str, Any]]:
    """Per annotator per ISO week (``week``: its Monday, ``week_of``): gold accuracy of that
    week's gold answers, and the estimated reliability as the mean agreement of that week's
    answers with their task's consensus."""
    from labelhouse.quality.wilson import wilson

    cells: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: {"gold": [], "estimated": []})
    for annotator, monday, kind, score in scores:
        cells[(annotator, monday)][kind].append(score)
    out = []
    for (annotator, week), got in sorted(cells.items()):
        gold, est = got["gold"], got["estimated"]
        correct = int(sum(gold))
        out.append(
            {
                "annotator": annotator,
                "week": week,
                "answers": len(est),
                "reliability": round(sum(est) / len(est), 4) if est else None,
                "gold_answered": len(gold),
                "gold_accuracy": round(correct / len(gold), 4) if gold else None,
                "gold_ci95": [round(x, 4) for x in wilson(correct, len(gold))],
            }
        )
    return out
