"""Queue rules through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from labelhouse.core.errors import Conflict, NotFound
from labelhouse.formats.base import ImportRow
from labelhouse.runtime import Runtime
from labelhouse.services import annotations, members, projects, queue
from labelhouse.services import items as item_service
from labelhouse.services.accounts import actor_for
from labelhouse.services.clock import utcnow
from tests.conftest import CHOICES_SCHEMA, make_person


def _setup(rt: Runtime, rows: list[dict], **settings):  # type: ignore[no-untyped-def]
    boss = make_person(rt, "boss@acme.test")
    with rt.db.session() as s:
        owner = actor_for(s, boss.workspace_id, boss.user_id)
        pid = projects.create_project(
            s, owner, projects.ProjectSettings(name="p", schema=CHOICES_SCHEMA, **settings), now=utcnow()
        ).id
    item_service.import_stream(
        rt.db.session,
        owner,
        pid,
        [ImportRow(line=i + 1, data=r) for i, r in enumerate(rows)],
        blobs=rt.blobs,
        now=utcnow,
    )
    return owner, pid


def _annotator(rt: Runtime, email: str, skills: list[str] | None = None):  # type: ignore[no-untyped-def]
    p = make_person(rt, email, role="annotator")
    if skills:
        with rt.db.session() as s:
            owner = actor_for(s, p.workspace_id, 1)
            members.update_member(s, owner, p.user_id, skills=skills, now=utcnow())
    with rt.db.session() as s:
        return actor_for(s, p.workspace_id, p.user_id)


def _next(rt: Runtime, actor, pid, now=None, **kw):  # type: ignore[no-untyped-def]
    with rt.db.session() as s:
        return queue.next_task(s, actor, pid, now=now or utcnow(), skip_locked=rt.skip_locked, **kw)


def _submit(rt: Runtime, actor, handout, label="pos", now=None):  # type: ignore[no-untyped-def]
    with rt.db.session() as s:
        return annotations.submit(
            s,
            actor,
            handout.task_id,
            {"label": label},
            lease_id=handout.lease_id,
            idempotency_key=f"k{handout.lease_id}-{handout.task_id}",
            now=now or utcnow(),
        )


def test_priority_order(rt: Runtime) -> None:
    _o, pid = _setup(
        rt,
        [
            {"data": {"text": "low"}, "priority": 1},
            {"data": {"text": "high"}, "priority": 9},
            {"text": "zero"},
        ],
    )
    a = _annotator(rt, "a@acme.test")
    got = []
    while (h := _next(rt, a, pid)) is not None:
        got.append(h.item["text"])
        _submit(rt, a, h)
    assert got == ["high", "low", "zero"]


def test_overlap_and_never_twice(rt: Runtime) -> None:
    _o, pid = _setup(rt, [{"text": "only"}], overlap=2)
    a, b, c = (_annotator(rt, f"{n}@acme.test") for n in "abc")
    ha = _next(rt, a, pid)
    _submit(rt, a, ha)
    assert _next(rt, a, pid) is None  # never the same item twice
    hb = _next(rt, b, pid)
    assert hb is not None and hb.task_id == ha.task_id
    assert _next(rt, c, pid) is None  # both slots taken
    _submit(rt, b, hb)
    assert _next(rt, c, pid) is None  # complete


def test_lease_expiry_returns_the_slot(rt: Runtime) -> None:
    _o, pid = _setup(rt, [{"text": "t"}], lease_seconds=60)
    a, b = _annotator(rt, "a@acme.test"), _annotator(rt, "b@acme.test")
    t0 = utcnow()
    ha = _next(rt, a, pid, now=t0)
    assert _next(rt, b, pid, now=t0) is None
    later = t0 + timedelta(seconds=61)
    hb = _next(rt, b, pid, now=later)
    assert hb is not None and hb.task_id == ha.task_id
    _submit(rt, b, hb, now=later)
    with pytest.raises(Conflict):
        _submit(rt, a, ha, now=later)


def test_late_submit_kept_when_slot_still_free(rt: Runtime) -> None:
    _o, pid = _setup(rt, [{"text": "t"}], lease_seconds=60)
    a = _annotator(rt, "a@acme.test")
    t0 = utcnow()
    ha = _next(rt, a, pid, now=t0)
    done = _submit(rt, a, ha, now=t0 + timedelta(seconds=300))
    assert done.created


def test_skip_never_again_release_may_return(rt: Runtime) -> None:
    _o, pid = _setup(rt, [{"text": "one"}, {"text": "two"}])
    a = _annotator(rt, "a@acme.test")
    h1 = _next(rt, a, pid)
    with rt.db.session() as s:
        queue.end_lease(s, a, h1.lease_id, "skipped", now=utcnow())
    h2 = _next(rt, a, pid)
    assert h2.task_id != h1.task_id
    with rt.db.session() as s:
        queue.end_lease(s, a, h2.lease_id, "released", now=utcnow())
    h3 = _next(rt, a, pid)
    assert h3.task_id == h2.task_id
    _submit(rt, a, h3)
    assert _next(rt, a, pid) is None


def test_same_lease_until_done_and_prefetch(rt: Runtime) -> None:
    _o, pid = _setup(rt, [{"text": str(i)} for i in range(3)])
    a = _annotator(rt, "a@acme.test")
    h1 = _next(rt, a, pid)
    assert _next(rt, a, pid).lease_id == h1.lease_id
    h2 = _next(rt, a, pid, prefetch=True)
    assert h2.lease_id != h1.lease_id
    assert _next(rt, a, pid, prefetch=True).lease_id == h2.lease_id  # at most two live leases


def test_gold_mixed_in_and_answered_once_each(rt: Runtime) -> None:
    rows = [{"data": {"text": "g"}, "gold": {"label": "pos"}}] + [{"text": str(i)} for i in range(4)]
    _o, pid = _setup(rt, rows, gold_rate=1.0)
    a, b = _annotator(rt, "a@acme.test"), _annotator(rt, "b@acme.test")
    assert _next(rt, a, pid).item["text"] == "g"
    assert _next(rt, b, pid).item["text"] == "g"  # gold is answered by everyone


def test_skills_routing(rt: Runtime) -> None:
    rows = [{"data": {"text": "medical"}, "skills": ["medicine"]}, {"text": "plain"}]
    _o, pid = _setup(rt, rows)
    plain = _annotator(rt, "p@acme.test")
    doctor = _annotator(rt, "d@acme.test", skills=["medicine"])
    hp = _next(rt, plain, pid)
    assert hp.item["text"] == "plain"
    _submit(rt, plain, hp)
    assert _next(rt, plain, pid) is None
    assert _next(rt, doctor, pid).item["text"] == "medical"


def test_drafts_survive_and_clear_on_submit(rt: Runtime) -> None:
    _o, pid = _setup(rt, [{"text": "t"}])
    a = _annotator(rt, "a@acme.test")
    h = _next(rt, a, pid)
    with rt.db.session() as s:
        queue.save_draft(s, a, h.task_id, {"label": "neg"}, now=utcnow())
    assert _next(rt, a, pid).draft == {"label": "neg"}
    _submit(rt, a, h)
    with rt.db.session() as s, pytest.raises(NotFound):
        queue.get_draft(s, a, h.task_id)


def test_versions_keep_history(rt: Runtime) -> None:
    owner, pid = _setup(rt, [{"text": "t"}])
    a = _annotator(rt, "a@acme.test")
    first = _submit(rt, a, _next(rt, a, pid)).annotation
    with rt.db.session() as s:
        second = annotations.edit(s, a, first.id, {"label": "neg"}, now=utcnow())
    assert (second.version, second.root_id) == (2, first.id)
    with rt.db.session() as s:
        latest = annotations.list_for_task(s, owner, first.task_id)
        every = annotations.list_for_task(s, owner, first.task_id, all_versions=True)
    assert [x.answer for x in latest] == [{"label": "neg"}]
    assert len(every) == 2
