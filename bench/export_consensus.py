#!/usr/bin/env python3
"""JSONL export time with the tasks' stored consensus, in process (no HTTP), on SQLite.

    python bench/export_consensus.py --tasks 200000              # fill (once) and time the export
    python bench/export_consensus.py --tasks 200000 --per-task 3 # three answers per task
    PYTHONPATH=/path/to/other/tree python bench/export_consensus.py --tasks 200000 --reuse --stamp 0010

Fill (not timed): a project with one single-choice control, ``--tasks`` items through the import
path, ``--per-task`` answers per task by distinct annotators with raw SQL, and every task's stored
consensus (``tasks.consensus``) set to what a completing submit stores: the majority label with
its share, ``n`` and a posterior. Then ``services.exports.plan_export`` + ``stream`` (what GET
/projects/{id}/export runs) write JSONL to nowhere, ``--repeat`` times; the best time is printed
with the peak RSS. ``--stamp REV`` sets the database's Alembic revision before opening it, so a
tree without this branch's migration (the baseline) can read the same file.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import psutil

WORK = Path(__file__).resolve().parent / ".work" / "export_consensus"
OPTIONS = ["a", "b", "c"]


def _open(data: Path) -> Any:
    from labelhouse.runtime import open_runtime
    from labelhouse.settings import load_settings

    return open_runtime(load_settings(env={}, data_dir=data, job_threads=0))


def fill(data: Path, tasks: int, per_task: int, seed: int) -> list[int]:
    from labelhouse.formats.base import ImportRow
    from labelhouse.services import accounts, projects
    from labelhouse.services import items as item_service
    from labelhouse.services.clock import utcnow

    rt = _open(data)
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
        users = [
            accounts.create_user_cli(
                s,
                f"a{i}@bench.example.com",
                workspace="bench",
                role="annotator",
                password=None,
                with_token=False,
                now=utcnow(),
            )[0].id
            for i in range(20)
        ]
        ids = [owner.id, ws.id]
    with rt.db.session() as s:
        actor = accounts.actor_for(s, ids[1], ids[0])
        schema = {"controls": [{"type": "choices", "name": "label", "over": "text", "options": OPTIONS}]}
        pid = projects.create_project(
            s, actor, projects.ProjectSettings(name="export", schema=schema, overlap=per_task), now=utcnow()
        ).id
    rows = (ImportRow(line=i + 1, data={"text": f"item {i}"}) for i in range(tasks))
    item_service.import_stream(rt.db.session, actor, pid, rows, blobs=rt.blobs, now=utcnow)
    rt.db.dispose()
    rng = random.Random(seed)
    con = sqlite3.connect(data / "labelhouse.db")
    task_ids = [t for (t,) in con.execute("SELECT id FROM tasks WHERE project_id = ? ORDER BY id", (pid,))]
    now = time.strftime("%Y-%m-%d %H:%M:%S.000000")
    next_id = 1
    answers, consensus = [], []
    for t in task_ids:
        given = [OPTIONS[0] if rng.random() < 0.7 else rng.choice(OPTIONS) for _ in range(per_task)]
        for u, label in zip(rng.sample(users, per_task), given, strict=True):
            answers.append(
                (next_id, next_id, ids[1], pid, t, u, json.dumps({"label": label}), f"b{next_id}", now)
            )
            next_id += 1
        top = max(OPTIONS, key=given.count)
        entry = {
            "value": top,
            "confidence": round(given.count(top) / per_task, 4),
            "n": per_task,
            "posterior": 0.7,
        }
        consensus.append((json.dumps({"label": entry}), t))
    con.executemany(
        "INSERT INTO annotations (id, root_id, workspace_id, project_id, task_id, user_id, version, is_latest, "
        "answer, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, 1, ?, ?, ?)",
        answers,
    )
    con.executemany(
        "UPDATE tasks SET consensus = ?, done = overlap, state = 'complete' WHERE id = ?", consensus
    )
    con.commit()
    con.close()
    return [pid, *ids]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", type=int, default=200_000)
    p.add_argument("--per-task", type=int, default=1)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reuse", action="store_true")
    p.add_argument("--stamp", default=None, help="set the Alembic revision first (for a baseline tree)")
    a = p.parse_args(argv)
    data = WORK / f"{a.tasks}x{a.per_task}"
    marker = data / "filled.json"
    if not (a.reuse and marker.exists()):
        if data.exists():
            import shutil

            shutil.rmtree(data)
        data.mkdir(parents=True)
        marker.write_text(json.dumps(fill(data, a.tasks, a.per_task, a.seed)))
    pid, owner_id, ws_id = json.loads(marker.read_text())
    if a.stamp:
        con = sqlite3.connect(data / "labelhouse.db")
        con.execute("UPDATE alembic_version SET version_num = ?", (a.stamp,))
        con.commit()
        con.close()
    import labelhouse
    from labelhouse.services import accounts, exports
    from labelhouse.services.clock import utcnow

    rt = _open(data)
    me = psutil.Process()
    best, cpu, lines, peak = float("inf"), float("inf"), 0, 0
    for _ in range(a.repeat):
        with rt.db.session() as s:
            actor = accounts.actor_for(s, ws_id, owner_id)
            plan = exports.plan_export(s, actor, pid, "jsonl", now=utcnow())
        t0, c0 = time.perf_counter(), time.process_time()
        lines = 0
        for chunk in exports.stream(lambda: rt.db.session(write=False), plan):
            lines += chunk.count(b"\n")
            peak = max(peak, me.memory_info().rss)
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    print(
        f"{labelhouse.__file__}: {lines:,} tasks, {a.tasks * a.per_task:,} annotations to JSONL in "
        f"{best:.2f} s (best of {a.repeat}; CPU {cpu:.2f} s), peak RSS {peak / 2**20:.0f} MiB"
    )
    rt.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
