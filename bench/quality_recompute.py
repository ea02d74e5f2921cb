#!/usr/bin/env python3
"""The quality report's recompute job on a large project: time, peak memory, progress seen.

    python bench/quality_recompute.py                    # 400,000 tasks x 5 answers = 2,000,000 answers
    python bench/quality_recompute.py --tasks 40000      # smaller
    python bench/quality_recompute.py --reuse            # keep the filled database of an earlier run
    python bench/quality_recompute.py --controls choices,rating

Steps (SQLite, a fresh data directory under bench/.work/ unless --reuse finds a filled one):
  1. fill: an owner, ``--annotators`` annotators (labelhouse.services.accounts), a project with the
     chosen controls (services.projects), the items through ``services.items.import_stream`` (the
     import path), then ``--per-task`` answers per task from distinct annotators with raw SQL
     (``executemany`` of annotation rows and one UPDATE of the task counters: what the submit path
     leaves, written fast). Answers are seeded: each annotator right with an accuracy drawn from
     Beta(6, 2), 10 % of them uniform spammers. Not timed as a target.
  2. recompute: ``services.quality_jobs.start_recompute`` queues the job (as POST
     /projects/{id}/quality/recompute does) and ``labelhouse.worker.run_one`` runs it in this
     process (what the serve thread and ``labelhouse worker`` do), while a second thread reads the
     job's row every 0.25 s (its ``done`` / ``total``, as GET /jobs/{id} shows them) and samples this
     process's RSS. Printed: seconds, peak RSS (and growth over the RSS before the job), every
     progress value seen, and the report's headline figures.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import text

WORK = Path(__file__).resolve().parent / ".work" / "quality_recompute"

CONTROLS = {
    "choices": {"type": "choices", "name": "label", "over": "text", "options": ["a", "b", "c", "d", "e"]},
    "rating": {"type": "rating", "name": "score", "over": "text", "min": 1, "max": 5},
}


def _schema(controls: list[str]) -> dict[str, Any]:
    return {"controls": [CONTROLS[c] for c in controls]}


def _open(data: Path) -> Any:
    from labelhouse.runtime import open_runtime
    from labelhouse.settings import load_settings

    return open_runtime(load_settings(env={}, data_dir=data, job_threads=0))


def fill(rt: Any, a: argparse.Namespace, controls: list[str]) -> tuple[int, int, int]:
    """(project id, owner id, workspace id) of a freshly filled project."""
    from labelhouse.formats.base import ImportRow
    from labelhouse.services import accounts, projects
    from labelhouse.services import items as item_service
    from labelhouse.services.clock import utcnow

    t0 = time.perf_counter()
    with rt.db.session() as s:
        owner, ws, _ = accounts.create_user_cli(
            s,
            "owner@bench.example.com",
            workspace="bench",
            role="owner",
            password=None,
            with_token=False,
            now=utcnow(),
        )
        owner_id, ws_id = owner.id, ws.id
        users = []
        for i in range(a.annotators):
            u, _w, _ = accounts.create_user_cli(
                s,
                f"ann{i:04d}@bench.example.com",
                workspace="bench",
                role="annotator",
                password=None,
                with_token=False,
                now=utcnow(),
            )
            users.append(u.id)
    with rt.db.session() as s:
        actor = accounts.actor_for(s, ws_id, owner_id)
        project = projects.create_project(
            s,
            actor,
            projects.ProjectSettings(name="recompute", schema=_schema(controls), overlap=a.per_task),
            now=utcnow(),
        )
        pid = project.id
    rows = (ImportRow(line=i + 1, data={"text": f"item {i}"}) for i in range(a.tasks))
    item_service.import_stream(rt.db.session, actor, pid, rows, blobs=rt.blobs, now=utcnow)
    t_items = time.perf_counter() - t0
    rng = random.Random(a.seed)
    accuracy = {u: (1.0 / 5 if rng.random() < 0.1 else rng.betavariate(6, 2)) for u in users}
    options = CONTROLS["choices"]["options"]
    with rt.db.session(write=False) as s:
        task_ids = [
            int(t)
            for t in s.execute(
                text("SELECT id FROM tasks WHERE project_id = :p ORDER BY id"), {"p": pid}
            ).scalars()
        ]
    now = utcnow()
    raw = rt.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        next_id = int(cur.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM annotations").fetchone()[0])
        batch: list[tuple[Any, ...]] = []
        for t in task_ids:
            truth = rng.randrange(len(options))
            for u in rng.sample(users, a.per_task):
                answer: dict[str, Any] = {}
                if "choices" in controls:
                    right = rng.random() < accuracy[u]
                    answer["label"] = options[
                        truth if right else rng.choice([k for k in range(len(options)) if k != truth])
                    ]
                if "rating" in controls:
                    answer["score"] = min(
                        5, max(1, truth + 1 + (0 if rng.random() < accuracy[u] else rng.choice((-1, 1))))
                    )
                batch.append(
                    (
                        next_id,
                        next_id,
                        ws_id,
                        pid,
                        t,
                        u,
                        json.dumps(answer),
                        f"bench-{next_id}",
                        now.isoformat(" "),
                    )
                )
                next_id += 1
            if len(batch) >= 50000:
                _write(cur, batch)
                raw.commit()
                batch = []
        _write(cur, batch)
        cur.execute("UPDATE tasks SET done = ?, state = 'complete' WHERE project_id = ?", (a.per_task, pid))
        raw.commit()
    finally:
        raw.close()
    print(
        f"filled: {a.tasks:,} tasks, {a.tasks * a.per_task:,} answers by {a.annotators} annotators "
        f"({t_items:.1f} s users + items, {time.perf_counter() - t0:.1f} s in all)",
        flush=True,
    )
    return pid, owner_id, ws_id


def _write(cur: Any, batch: list[tuple[Any, ...]]) -> None:
    cur.executemany(
        "INSERT INTO annotations (id, root_id, workspace_id, project_id, task_id, user_id, version, is_latest, "
        "answer, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, 1, ?, ?, ?)",
        batch,
    )


def recompute(rt: Any, pid: int, owner_id: int, ws_id: int, method: str | None) -> dict[str, Any]:
    from labelhouse import worker
    from labelhouse.services import accounts, quality_jobs
    from labelhouse.services.clock import utcnow
    from labelhouse.storage.tables import Job

    me = psutil.Process()
    with rt.db.session() as s:
        actor = accounts.actor_for(s, ws_id, owner_id)
        job = quality_jobs.start_recompute(s, actor, pid, method=method, now=utcnow())
        job_id, total = job.id, job.total
    seen: list[tuple[float, int]] = []
    peak = [me.memory_info().rss]
    base = peak[0]
    stop = threading.Event()
    t0 = time.perf_counter()

    def watch() -> None:
        last = None
        while not stop.is_set():
            peak[0] = max(peak[0], me.memory_info().rss)
            with rt.db.session(write=False) as s:
                done = s.get(Job, job_id)
                value = None if done is None else done.done
            if value != last:
                seen.append((round(time.perf_counter() - t0, 2), int(value or 0)))
                last = value
            stop.wait(0.25)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    ran = worker.run_one(rt)
    seconds = time.perf_counter() - t0
    stop.set()
    watcher.join()
    peak[0] = max(peak[0], me.memory_info().rss)
    with rt.db.session(write=False) as s:
        job = s.get(Job, job_id)
        assert job is not None
        state, error, result, done = job.state, job.error, job.result, job.done
    return {
        "ran": ran,
        "state": state,
        "error": error,
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(peak[0] / 2**20, 1),
        "rss_before_mib": round(base / 2**20, 1),
        "progress_seen": seen,
        "done": done,
        "total": total,
        "result": result,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", type=int, default=400_000)
    p.add_argument("--per-task", type=int, default=5)
    p.add_argument("--annotators", type=int, default=500)
    p.add_argument("--controls", default="choices")
    p.add_argument("--method", default=None, help="truth-inference method (default: the product's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--reuse", action="store_true", help="reuse the filled database of an earlier run with the same sizes"
    )
    a = p.parse_args(argv)
    controls = [c.strip() for c in a.controls.split(",") if c.strip()]
    unknown = [c for c in controls if c not in CONTROLS]
    if unknown:
        p.error(f"unknown control {unknown[0]!r}; known: {', '.join(CONTROLS)}")
    data = WORK / f"{a.tasks}x{a.per_task}-{'-'.join(controls)}-{a.annotators}-s{a.seed}"
    marker = data / "filled.json"
    if a.reuse and marker.exists():
        pid, owner_id, ws_id = json.loads(marker.read_text())
        rt = _open(data)
        print(f"reusing {data}", flush=True)
    else:
        if data.exists():
            import shutil

            shutil.rmtree(data)
        data.mkdir(parents=True)
        rt = _open(data)
        pid, owner_id, ws_id = fill(rt, a, controls)
        marker.write_text(json.dumps([pid, owner_id, ws_id]))
    out = recompute(rt, pid, owner_id, ws_id, a.method)
    result = out.pop("result") or {}
    print(
        f"job: {out['state']}{' (' + str(out['error']) + ')' if out['error'] else ''}, {out['done']}/{out['total']} steps"
    )
    print(
        f"answers: {a.tasks * a.per_task:,}   seconds: {out['seconds']}   peak RSS: {out['peak_rss_mib']} MiB "
        f"(before the job {out['rss_before_mib']} MiB)"
    )
    print(
        "progress seen (seconds since start, steps done): "
        + ", ".join(f"{t}s:{d}" for t, d in out["progress_seen"])
    )
    for name, section in (result.get("controls") or {}).items():
        print(
            f"  {name}: {section.get('tasks'):,} tasks, {section.get('answers'):,} answers, method {section.get('method')}, "
            f"mean confidence {section.get('mean_confidence')}, {len(section.get('annotators') or [])} annotators"
        )
    rt.db.dispose()
    return 0 if out["state"] == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
