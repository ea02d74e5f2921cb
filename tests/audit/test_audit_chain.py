"""The audit log: events written with the changes they record, and `labelhouse audit verify`
finding an edited, deleted or reordered event."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import text

from labelhouse.api.app import create_app
from labelhouse.cli.main import main
from labelhouse.runtime import Runtime
from labelhouse.security.audit import GENESIS, ChainedEvent, event_hash, find_breaks
from tests.conftest import CHOICES_SCHEMA, make_person


def _chain(n: int) -> list[ChainedEvent]:
    events, prev = [], GENESIS
    for seq in range(1, n + 1):
        h = event_hash(prev, seq, f"2026-01-01T00:00:0{seq}.000000Z", 1, "a@x", "login", "user:1", {"n": seq})
        events.append(
            ChainedEvent(
                seq, f"2026-01-01T00:00:0{seq}.000000Z", 1, "a@x", "login", "user:1", {"n": seq}, prev, h
            )
        )
        prev = h
    return events


def test_pure_chain_detects_edit_delete_reorder() -> None:
    events = _chain(4)
    assert find_breaks(events) == []
    edited = list(events)
    e = edited[1]
    edited[1] = ChainedEvent(
        e.seq, e.at, e.actor_id, "mallory@x", e.action, e.target, e.details, e.prev_hash, e.hash
    )
    assert any("edited" in p for p in find_breaks(edited))
    assert find_breaks(events[:1] + events[2:])  # deleted
    assert find_breaks([events[0], events[2], events[1], events[3]])  # reordered


def _cli(rt: Runtime, *args: str) -> tuple[int, str]:
    extra = ["--data", str(rt.settings.data_dir)]
    if rt.settings.database_url:
        extra += ["--database-url", rt.settings.database_url]
    result = CliRunner().invoke(main, [*args, *extra])
    return result.exit_code, result.output


def test_events_recorded_and_chain_verified(rt: Runtime, tmp_path: Path) -> None:
    owner = make_person(rt, "owner@acme.test")
    with TestClient(create_app(rt, run_jobs=False)) as c:
        pid = c.post(
            "/api/v1/projects", json={"name": "p", "schema": CHOICES_SCHEMA}, headers=owner.headers
        ).json()["id"]
        c.post("/api/v1/members", json={"email": "ann@acme.test", "role": "annotator"}, headers=owner.headers)
        c.get(f"/api/v1/projects/{pid}/export", headers=owner.headers)
        c.post("/api/v1/auth/login", json={"email": "owner@acme.test", "password": "wrong password!"})
        events = c.get("/api/v1/audit", headers=owner.headers).json()
        annotator = make_person(rt, "ann@acme.test", role="annotator")
        assert c.get("/api/v1/audit", headers=annotator.headers).status_code == 403
    actions = [e["action"] for e in events]
    assert actions == ["member_added", "project_created", "member_added", "export", "login_failed"]
    assert events[1]["actor"] == "owner@acme.test"

    code, out = _cli(rt, "audit", "verify")
    assert code == 0 and "acme: intact" in out
    target = tmp_path / "audit.jsonl"
    assert _cli(rt, "audit", "export", "--workspace", "acme", "--out", str(target))[0] == 0
    assert [orjson.loads(x)["seq"] for x in target.read_bytes().splitlines()] == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]  # + the operator adding ann again

    with rt.db.engine.begin() as conn:  # an insider edits one row in the database
        conn.execute(text("UPDATE audit_events SET actor = 'someone else' WHERE seq = 4"))
    code, out = _cli(rt, "audit", "verify", "--workspace", "acme")
    assert code == 10 and "event 4" in out and "edited" in out
    with rt.db.engine.begin() as conn:  # ... and then deletes it
        conn.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    code, out = _cli(rt, "audit", "verify", "--workspace", "acme")
    assert code == 10 and "event 5" in out


def test_the_stamp_hashed_is_the_same_text_for_every_kind_of_time() -> None:
    """``_stamp`` cuts a UTC isoformat's ``+00:00`` instead of calling ``replace``: the hashed
    text must not change (stored chains are verified against it). A time in another zone (as
    PostgreSQL hands back in a session whose ``TimeZone`` is not UTC) is stamped in UTC: events
    are written with ``utcnow()``, so that is what their hashes cover."""
    import random
    from datetime import UTC, datetime, timedelta, timezone

    from labelhouse.services.audit import _stamp
    from labelhouse.services.clock import aware

    rng = random.Random(5)
    for _ in range(2000):
        moment = datetime(1970, 1, 1) + timedelta(
            seconds=rng.randrange(0, 4 * 10**9), microseconds=rng.choice([0, 1, rng.randrange(10**6)])
        )
        for at in (moment, moment.replace(tzinfo=UTC), moment.replace(tzinfo=timezone(timedelta(hours=2)))):
            before = aware(at).astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
            assert _stamp(at) == before
            assert _stamp(at.strftime("%Y-%m-%d %H:%M:%S.%f")) == aware(
                at.strftime("%Y-%m-%d %H:%M:%S.%f")
            ).strftime(  # type: ignore[arg-type]
                "%Y-%m-%dT%H:%M:%S.%fZ"
            )
