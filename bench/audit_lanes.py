#!/usr/bin/env python3
"""What recording task handouts in the audit lanes costs one `next` + `submit`, in CPU.

    python bench/audit_lanes.py                                   # SQLite, 4,000 cycles a side
    python bench/audit_lanes.py --database-url postgresql://postgres@127.0.0.1:5432/DB  # an empty DB

One process, the services exactly as the routes call them (``next_response``'s unit of work:
``queue.next_task`` on a raw connection, then ``annotations.submit``), in blocks of 200 cycles that
alternate between recording (the code as shipped) and not recording (``audit.record_handout``
replaced by a no-op), so both sides see the same machine load. CPU time of this process
(``time.process_time``), which a busy machine disturbs much less than wall time; on PostgreSQL the
server's own CPU is not included (the two extra statements are also two round trips).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from labelhouse.formats.base import ImportRow
from labelhouse.runtime import open_runtime
from labelhouse.services import accounts, annotations, audit, projects, queue
from labelhouse.services import items as item_service
from labelhouse.services.accounts import actor_for
from labelhouse.services.clock import utcnow
from labelhouse.settings import load_settings

SCHEMA = {"controls": [{"name": "label", "type": "choices", "over": "text", "options": ["pos", "neg"]}]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=4000, help="next + submit cycles per side")
    ap.add_argument("--block", type=int, default=200)
    ap.add_argument("--annotators", type=int, default=8)
    ap.add_argument("--database-url", default="")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rt = open_runtime(
            load_settings(env={}, data_dir=Path(tmp) / "data", database_url=args.database_url, job_threads=0)
        )
        with rt.db.session() as s:
            user, ws, _ = accounts.create_user_cli(
                s,
                "boss@bench.test",
                workspace="bench",
                role="owner",
                password=None,
                with_token=False,
                now=utcnow(),
            )
            owner = actor_for(s, ws.id, user.id)
            pid = projects.create_project(
                s, owner, projects.ProjectSettings(name="audit", schema=SCHEMA), now=utcnow()
            ).id
        n = 2 * args.cycles + 100
        item_service.import_stream(
            rt.db.session,
            owner,
            pid,
            [ImportRow(line=i + 1, data={"text": f"t{i}"}) for i in range(n)],
            blobs=rt.blobs,
            now=utcnow,
        )
        people = []
        for i in range(args.annotators):
            with rt.db.session() as s:
                u, _w, _ = accounts.create_user_cli(
                    s,
                    f"a{i}@bench.test",
                    workspace="bench",
                    role="annotator",
                    password=None,
                    with_token=False,
                    now=utcnow(),
                )
                people.append(actor_for(s, ws.id, u.id))
        shipped = audit.record_handout
        cpu: dict[str, list[float]] = {"lanes": [], "none": []}
        done = {"lanes": 0, "none": 0}
        k = 0
        while min(done.values()) < args.cycles:
            for side in ("none", "lanes"):
                audit.record_handout = shipped if side == "lanes" else (lambda *a, **kw: None)  # type: ignore[assignment]
                start = time.process_time()
                for _ in range(args.block):
                    actor = people[k % len(people)]
                    k += 1
                    with rt.db.raw() as db:
                        h = queue.next_task(db, actor, pid, now=utcnow(), skip_locked=rt.skip_locked)
                    assert h is not None
                    with rt.db.raw() as db:
                        annotations.submit(
                            db,
                            actor,
                            h.task_id,
                            {"label": "pos"},
                            lease_id=h.lease_id,
                            idempotency_key=f"k{k}",
                            now=utcnow(),
                            lock_rows=rt.skip_locked,
                        )
                cpu[side].append((time.process_time() - start) / args.block * 1e6)
                done[side] += args.block
        audit.record_handout = shipped  # type: ignore[assignment]
        with rt.db.session(write=False) as s:
            problems = audit.verify(s)
        rt.db.dispose()
    lanes, none = statistics.median(cpu["lanes"]), statistics.median(cpu["none"])
    print(
        f"database: {'postgresql' if args.database_url else 'sqlite'}; {done['lanes']} cycles a side, blocks of {args.block}"
    )
    print(f"CPU per next+submit, median of blocks: without handout events {none:.0f} us, with {lanes:.0f} us")
    print(f"ratio (without / with: the loop's throughput bound by this CPU): {none / lanes:.3f}")
    print(f"chains verify: {all(not p for p in problems.values())}")


if __name__ == "__main__":
    main()
