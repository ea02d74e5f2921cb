#!/usr/bin/env python3
"""One import in this process, timed in wall-clock and CPU seconds: the steadier figure on a busy
machine, where wall-clock times of the same code vary by a third from run to run.

    python bench/import_cpu.py --items 200000                      # SQLite in a fresh temp folder
    python bench/import_cpu.py --items 100000 --database-url postgresql://postgres@127.0.0.1:5432/DB
    cd /tmp && PYTHONPATH=/work/main python /path/to/bench/import_cpu.py --items 200000   # other code

Reads the first N lines of bulk.py's 1,000,000-item file (generated if missing) and runs
``services.items.import_stream`` over the JSONL reader, as ``labelhouse import`` does (no
subprocess, no server). Prints one JSON line: the code imported, wall and CPU seconds (all
threads), items created, peak RSS. Run it from a folder without a ``labelhouse/`` in it, so that
PYTHONPATH decides which code runs. A PostgreSQL database must be empty (it is migrated here).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parent))

from benchlib import WORK_DIR, items_file  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=200_000)
    p.add_argument("--database-url", default=None)
    a = p.parse_args()

    import labelhouse
    from labelhouse.formats.jsonl import JsonlReader
    from labelhouse.runtime import open_runtime
    from labelhouse.services import accounts, items, projects
    from labelhouse.services.accounts import actor_for
    from labelhouse.services.clock import utcnow
    from labelhouse.settings import load_settings

    source = items_file(1_000_000, 1)
    path = WORK_DIR / f"items-head-{a.items}.jsonl"
    if not path.exists():
        with source.open("rb") as f, path.open("wb") as out:
            out.writelines(islice(f, a.items))
    folder = Path(tempfile.mkdtemp(prefix="lh-import-cpu-", dir=WORK_DIR))
    try:
        rt = open_runtime(load_settings(data_dir=folder, database_url=a.database_url))
        with rt.db.session() as s:
            user, ws, _ = accounts.create_user_cli(
                s, "owner@bench.example.com", workspace="bench", role="owner", password=None,
                with_token=False, now=utcnow(),
            )  # fmt: skip
            user_id, ws_id = user.id, ws.id
        schema = {"controls": [{"name": "label", "type": "choices", "over": "text", "options": ["a", "b"]}]}
        with rt.db.session() as s:
            actor = actor_for(s, ws_id, user_id)
            settings = projects.ProjectSettings(name="import-cpu", schema=schema)
            pid = projects.create_project(s, actor, settings, now=utcnow()).id
        r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        with path.open("rb") as fh:
            result = items.import_stream(
                rt.db.session, actor, pid, JsonlReader().read(fh), blobs=rt.blobs, now=utcnow
            )
        wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
        cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
        rt.db.dispose()
        print(
            json.dumps(
                {
                    "code": os.path.dirname(labelhouse.__file__),
                    "items": a.items,
                    "wall_s": round(wall, 2),
                    "cpu_s": round(cpu, 2),
                    "cpu_us_per_item": round(cpu * 1e6 / a.items, 1),
                    "created": result.created,
                    "peak_rss_mib": r1.ru_maxrss // 1024,
                    "loadavg": os.getloadavg(),
                }
            )
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
