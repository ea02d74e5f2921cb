"""Out-of-band helpers for the labelhouse adapter, run as a subprocess with the Python that has
labelhouse installed (so the load generator never imports the server's code).

    python bench/lh_admin.py users   --data DIR [--database-url URL] --workspace W --count N --prefix P
    python bench/lh_admin.py annotate --data DIR [--database-url URL] --project ID --mode sql|services [--limit N]
    python bench/lh_admin.py check    --data DIR [--database-url URL] --project ID

``users`` prints one JSON line: {"tokens": [...]} (annotators created through
labelhouse.services.accounts, the same code ``labelhouse users create --token`` runs, in one process
instead of N CLI start-ups).

``annotate`` gives every open task of a project one annotation, to have something to export:
  * ``sql``: bulk INSERTs of lease and annotation rows through the ORM tables (labelhouse.storage.tables)
    plus one UPDATE of the task counters: what the submit path leaves in the database, written fast.
  * ``services``: per task, labelhouse.services.queue.next_task + labelhouse.services.annotations.submit,
    one unit of work each, exactly as the HTTP routes call them (slower; use for smaller N).

``check`` reads the database after a loop: tasks with more live annotations than the overlap,
tasks whose lease counter is negative or above the overlap, and totals.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta

from sqlalchemy import insert, text

from labelhouse.runtime import open_runtime
from labelhouse.services import accounts
from labelhouse.services.clock import utcnow
from labelhouse.settings import load_settings


def _rt(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    return open_runtime(load_settings(data_dir=args.data, database_url=args.database_url or None))


def cmd_users(args: argparse.Namespace) -> None:
    rt = _rt(args)
    tokens = []
    with rt.db.session() as s:
        for i in range(args.count):
            _u, _ws, issued = accounts.create_user_cli(
                s,
                f"{args.prefix}{i:04d}@bench.example.com",
                workspace=args.workspace,
                role=args.role,
                password=None,
                with_token=True,
                now=utcnow(),
            )
            assert issued is not None
            tokens.append(issued.token)
    print(json.dumps({"tokens": tokens}))


def cmd_annotate(args: argparse.Namespace) -> None:
    rt = _rt(args)
    t0 = time.perf_counter()
    with rt.db.session(write=False) as s:
        ws_id, overlap = s.execute(
            text("SELECT workspace_id, overlap FROM projects WHERE id = :p"), {"p": args.project}
        ).one()
        ws_name = s.execute(text("SELECT name FROM workspaces WHERE id = :w"), {"w": ws_id}).scalar_one()
    # annotators who "did" the work (the export looks their emails up)
    with rt.db.session() as s:
        users = []
        for i in range(args.annotators):
            u, _ws, _ = accounts.create_user_cli(
                s,
                f"bulk{i:03d}@bench.example.com",
                workspace=ws_name,
                role="annotator",
                password=None,
                with_token=False,
                now=utcnow(),
            )
            users.append(u.id)
    done = 0
    if args.mode == "sql":
        from labelhouse.storage.tables import Annotation, Lease

        after = 0
        while args.limit <= 0 or done < args.limit:
            n = 20000 if args.limit <= 0 else min(20000, args.limit - done)
            with rt.db.session() as s:
                task_ids = (
                    s.execute(
                        text(
                            "SELECT id FROM tasks WHERE project_id = :p AND state = 'open' AND id > :a "
                            "AND NOT is_gold ORDER BY id LIMIT :n"
                        ),
                        {"p": args.project, "a": after, "n": n},
                    )
                    .scalars()
                    .all()
                )
                if not task_ids:
                    break
                now = utcnow()
                lease_ids = s.scalars(
                    insert(Lease).returning(Lease.id, sort_by_parameter_order=True),
                    [
                        {
                            "workspace_id": ws_id,
                            "project_id": args.project,
                            "task_id": t,
                            "user_id": users[t % len(users)],
                            "state": "submitted",
                            "created_at": now,
                            "expires_at": now + timedelta(seconds=900),
                            "ended_at": now,
                        }
                        for t in task_ids
                    ],
                ).all()
                s.execute(
                    insert(Annotation),
                    [
                        {
                            "workspace_id": ws_id,
                            "project_id": args.project,
                            "task_id": t,
                            "user_id": users[t % len(users)],
                            "lease_id": lid,
                            "version": 1,
                            "is_latest": True,
                            "answer": {"label": "pos" if t % 2 else "neg"},
                            "idempotency_key": f"bulk-{t}",
                            "lead_time_s": 3.5,
                            "created_at": now,
                        }
                        for t, lid in zip(task_ids, lease_ids, strict=True)
                    ],
                )
                s.execute(
                    text(
                        "UPDATE annotations SET root_id = id WHERE project_id = :p AND task_id BETWEEN :a AND :b "
                        "AND root_id IS NULL"
                    ),
                    {"p": args.project, "a": task_ids[0], "b": task_ids[-1]},
                )
                s.execute(
                    text(
                        "UPDATE tasks SET done = done + 1, state = CASE WHEN done + 1 >= overlap THEN 'complete' "
                        "ELSE state END WHERE project_id = :p AND id BETWEEN :a AND :b AND state = 'open' "
                        "AND NOT is_gold"
                    ),
                    {"p": args.project, "a": task_ids[0], "b": task_ids[-1]},
                )
            done += len(task_ids)
            after = task_ids[-1]
            print(
                f"annotated {done} ({done / (time.perf_counter() - t0):.0f}/s)", file=sys.stderr, flush=True
            )
    else:
        from labelhouse.services import annotations, queue
        from labelhouse.services.accounts import actor_for

        with rt.db.session(write=False) as s:
            actors = [actor_for(s, ws_id, u) for u in users]
        i = 0
        while args.limit <= 0 or done < args.limit:
            actor = actors[i % len(actors)]
            i += 1
            with rt.db.session() as s:
                h = queue.next_task(s, actor, args.project, now=utcnow(), skip_locked=rt.skip_locked)
            if h is None:
                break
            with rt.db.session() as s:
                annotations.submit(
                    s,
                    actor,
                    h.task_id,
                    {"label": "pos"},
                    lease_id=h.lease_id,
                    idempotency_key=f"svc-{h.task_id}-{actor.user_id}",
                    now=utcnow(),
                    lock_rows=rt.skip_locked,
                )
            done += 1
            if done % 5000 == 0:
                print(
                    f"annotated {done} ({done / (time.perf_counter() - t0):.0f}/s)",
                    file=sys.stderr,
                    flush=True,
                )
    print(json.dumps({"annotated": done, "seconds": round(time.perf_counter() - t0, 2), "mode": args.mode}))


def cmd_check(args: argparse.Namespace) -> None:
    rt = _rt(args)
    with rt.db.session(write=False) as s:
        overlap = s.execute(
            text("SELECT overlap FROM projects WHERE id = :p"), {"p": args.project}
        ).scalar_one()
        over = s.execute(
            text(
                "SELECT task_id, COUNT(*) FROM annotations WHERE project_id = :p AND is_latest "
                "AND deleted_at IS NULL GROUP BY task_id HAVING COUNT(*) > :o"
            ),
            {"p": args.project, "o": overlap},
        ).all()
        total = s.execute(
            text(
                "SELECT COUNT(*), COUNT(DISTINCT task_id) FROM annotations WHERE project_id = :p AND is_latest "
                "AND deleted_at IS NULL"
            ),
            {"p": args.project},
        ).one()
        bad_counters = s.execute(
            text(
                "SELECT COUNT(*) FROM tasks WHERE project_id = :p AND (leased < 0 OR leased + done > overlap) "
                "AND NOT is_gold"
            ),
            {"p": args.project},
        ).scalar_one()
        active = s.execute(
            text("SELECT COUNT(*) FROM leases WHERE project_id = :p AND state = 'active'"),
            {"p": args.project},
        ).scalar_one()
        multi_user_tasks = s.execute(
            text(
                "SELECT COUNT(*) FROM (SELECT task_id FROM leases WHERE project_id = :p AND state IN "
                "('active', 'submitted') GROUP BY task_id HAVING COUNT(*) > :o) x"
            ),
            {"p": args.project, "o": overlap},
        ).scalar_one()
    print(
        json.dumps(
            {
                "overlap": overlap,
                "annotations": total[0],
                "annotated_tasks": total[1],
                "tasks_over_overlap": len(over),
                "examples": [list(r) for r in over[:5]],
                "tasks_with_bad_counters": bad_counters,
                "active_leases": active,
                "tasks_leased_to_more_than_overlap": multi_user_tasks,
            }
        )
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("users", "annotate", "check"):
        sp = sub.add_parser(name)
        sp.add_argument("--data", required=True)
        sp.add_argument("--database-url", default="")
        if name == "users":
            sp.add_argument("--workspace", default="bench")
            sp.add_argument("--count", type=int, default=32)
            sp.add_argument("--prefix", default="ann")
            sp.add_argument("--role", default="annotator")
        else:
            sp.add_argument("--project", type=int, required=True)
        if name == "annotate":
            sp.add_argument("--mode", choices=["sql", "services"], default="sql")
            sp.add_argument("--limit", type=int, default=0, help="0: every open task")
            sp.add_argument("--annotators", type=int, default=32)
    args = p.parse_args()
    {"users": cmd_users, "annotate": cmd_annotate, "check": cmd_check}[args.cmd](args)


if __name__ == "__main__":
    main()
