"""Items in: batches of import rows become items and tasks, idempotently by content hash."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from labelhouse.blobs.base import BlobStore
from labelhouse.controls import Schema
from labelhouse.core.actor import Actor
from labelhouse.core.errors import Invalid, LabelhouseError, NotFound, TooLarge
from labelhouse.core.ids import ProjectId
from labelhouse.formats.base import ImportRow
from labelhouse.security.permissions import allowed, require
from labelhouse.security.sealing import ItemSealer, Vault
from labelhouse.services import audit, remote_files
from labelhouse.services.collector import fewer_collections
from labelhouse.services.item_data import fields_of, vault_of
from labelhouse.services.projects import get_project, schemas
from labelhouse.storage.rawsql import Raw
from labelhouse.storage.tables import Blob, Item, Project, Task

if TYPE_CHECKING:  # httpx is imported only by an import that fetches
    from labelhouse.security.outbound import OutboundClient, OutboundPolicy

BATCH = 10000
STATEMENT_BYTES = 1024 * 1024  # item data bound to one bulk INSERT, at most (about): ~4,000 items
MAX_ERRORS_KEPT = 1000
ENVELOPE_KEYS = {"data", "priority", "gold", "skills", "external_id"}


@dataclass
class ImportResult:
    created: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add_error(self, line: int, message: str) -> None:
        self.failed += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append({"line": line, "message": message})

    def to_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "errors": self.errors,
        }


class _Prepared(NamedTuple):
    """An item ready to write (a tuple: a million of them are made per large import)."""

    line: int
    encoded: str  # the item as stored: canonical JSON (sorted keys), sealed (a JSON string)
    content_hash: str
    priority: int
    gold: Any
    skills: list[str] | None


def _canonical(vault: Vault, workspace_id: int, project_id: int, data: Mapping[str, Any]) -> tuple[str, str]:
    """The stored form of an item (its canonical JSON, sealed) and its content hash.

    The hash is keyed under the workspace's key (``Vault.content_hash``): re-imports dedup within
    a project, yet equal items in two workspaces have unrelated hashes. 128 bits keep the unique
    index small; a collision is about 2**-64 likely among billions of items. An import does the
    same for a whole batch at once (``Vault.item_sealer``, in ``_prepare_batch``)."""
    encoded = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    digest = vault.content_hash(workspace_id, encoded)
    return vault.seal_item(workspace_id, project_id, digest, encoded), digest


def _unwrap(raw: dict[str, Any]) -> tuple[dict[str, Any], int, Any, list[str] | None]:
    """A record is its fields, or an envelope {"data": {...}, "priority", "gold", "skills"}."""
    if isinstance(raw.get("data"), dict) and set(raw) <= ENVELOPE_KEYS:
        data = dict(raw["data"])
        priority = raw.get("priority", 0)
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise Invalid("priority is an integer (higher is served first)", field="priority")
        skills = raw.get("skills")
        if skills is not None and (
            not isinstance(skills, list) or not all(isinstance(x, str) for x in skills)
        ):
            raise Invalid("skills is a list of strings", field="skills")
        if raw.get("external_id") is not None:
            data.setdefault("external_id", raw["external_id"])
        return data, priority, raw.get("gold"), skills or None
    return raw, 0, None, None


_Checked = tuple[int, bytes, int, Any, list[str] | None]


def _check(
    row: ImportRow,
    schema: Schema,
    blobs: BlobStore,
    target: _Target,
    new_blobs: dict[str, tuple[int, str]],
) -> _Checked:
    """A row checked against the schema, its files stored: (line, canonical JSON, priority, gold,
    skills). The batch is hashed and sealed afterwards, all at once."""
    if row.data is None:
        raise Invalid(row.error or "empty row")
    data, priority, gold, skills = _unwrap(row.data)
    if not data:
        raise Invalid("the item has no fields")
    for fieldname, (name, payload) in row.files.items():
        sha = blobs.put(target.workspace_id, payload)
        ref = dict(data.get(fieldname) or {}) if isinstance(data.get(fieldname), dict) else {}
        # The reader identified the file by its content; a file name never decides how it is served.
        media = str(ref.pop("media_type", "application/octet-stream"))
        new_blobs[sha] = (len(payload), media)
        ref.update({"blob": sha, "name": name})
        data[fieldname] = ref
    for config in schema.controls:
        if config.over and config.over not in data:
            raise Invalid(
                f"the item has no field {config.over!r}, which control {config.name!r} labels; "
                f"its fields are: {', '.join(sorted(data)) or 'none'}",
                field=config.over,
            )
    if gold is not None:
        gold = schema.validate_answer(gold, data)
    return row.line, orjson.dumps(data, option=orjson.OPT_SORT_KEYS), priority, gold, skills


@dataclass(frozen=True)
class _Target:
    """Where an import's items go, and the vault that seals them (in the read-ahead thread)."""

    workspace_id: int
    project_id: int
    vault: Vault


@dataclass
class _Batch:
    """A batch of rows made ready to write: deduplicated items, errors, blobs stored."""

    rows: int
    items: list[_Prepared]
    duplicates: int
    errors: list[tuple[int, str]]
    blobs: dict[str, tuple[int, str]]


class _Fetcher:
    """The guarded client of one import, made on the first row that names a file by URL."""

    def __init__(self, policy: OutboundPolicy | None) -> None:
        self.policy = policy
        self._client: OutboundClient | None = None

    def client(self) -> OutboundClient | None:
        if self._client is None and self.policy is not None:
            from labelhouse.security.outbound import OutboundClient

            self._client = OutboundClient(self.policy)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> _Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


FETCH_THREADS = 4


def _prepare_batch(
    rows: list[ImportRow],
    schema: Schema,
    blobs: BlobStore,
    target: _Target,
    fetcher: _Fetcher | None = None,
) -> _Batch:
    """Check, encode, hash and seal rows; no database. Runs ahead of the writer in the import's
    read thread.

    Rows that name files by URL are fetched and stored a few at a time (``FETCH_THREADS``), so
    that memory holds only the files in flight. One ``Vault.item_sealer`` hashes and seals the
    batch: per item that is the cipher's own work and little else."""
    new_blobs: dict[str, tuple[int, str]] = {}
    errors: list[tuple[int, str]] = []

    def one(row: ImportRow) -> _Checked | str:
        if row.error is not None:  # the reader's own message already names the line
            return row.error
        try:
            return _check(row, schema, blobs, target, new_blobs)
        except LabelhouseError as exc:
            where = f" (field {exc.field})" if exc.field else ""
            return f"line {row.line}: {exc.message}{where}"

    def fetched(row: ImportRow) -> _Checked | str:
        if remote_files.url_fields(row):
            row = remote_files.fetch_row(row, fetcher.client() if fetcher else None)
        return one(row)

    sealer = target.vault.item_sealer(target.workspace_id, target.project_id)
    prepared: dict[str, _Prepared] = {}
    duplicates = 0  # set below, after the plain rows

    def keep(row: ImportRow, outcome: _Checked | str) -> None:
        # Sealed at once, in this thread: the canonical JSON is not kept (orjson's output
        # buffers are several times the text's size).
        nonlocal duplicates
        if isinstance(outcome, str):
            errors.append((row.line, outcome))
            return
        line, encoded, priority, gold, skills = outcome
        digest, stored = sealer.seal(encoded)
        if digest in prepared:
            duplicates += 1
        else:
            prepared[digest] = _Prepared(line, stored, digest, priority, gold, skills)

    plain = _plain_prefix(rows, schema, sealer, prepared)
    duplicates = plain.duplicates
    rest = rows[plain.taken :] if plain.taken else rows
    if any(map(remote_files.names_urls, rest)):
        with ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="import-fetch") as pool:
            for row, outcome in zip(rest, pool.map(fetched, rest), strict=True):
                keep(row, outcome)
    else:
        for row in rest:
            keep(row, one(row))
    return _Batch(len(rows), list(prepared.values()), duplicates, errors, new_blobs)


class _Plain(NamedTuple):
    taken: int  # rows handled, from the first
    duplicates: int


def _plain_prefix(
    rows: list[ImportRow], schema: Schema, sealer: ItemSealer, prepared: dict[str, _Prepared]
) -> _Plain:
    """The batch's leading plain rows, checked and sealed in one loop: what ``_check`` and
    ``keep`` do for a record that is its own fields (no envelope), has every field a control
    labels, no file and no value that is an object (so no URL to fetch). Most rows of a large
    import are such rows, and the general path's calls per row were a third of its CPU. Stops
    at the first other row; the caller takes the rest through the general path, in order."""
    over = frozenset(c.over for c in schema.controls if c.over)
    seal = sealer.seal
    dumps = orjson.dumps
    sort = orjson.OPT_SORT_KEYS
    duplicates = 0
    taken = 0
    for row in rows:
        data = row.data
        if (
            not data
            or row.error is not None
            or row.files
            or "data" in data
            or not over <= data.keys()
            or dict in map(type, data.values())
        ):
            break
        digest, stored = seal(dumps(data, option=sort))
        if digest in prepared:
            duplicates += 1
        else:
            prepared[digest] = _Prepared(row.line, stored, digest, 0, None, None)
        taken += 1
    return _Plain(taken, duplicates)


def _write_batch(
    s: Session,
    actor: Actor,
    project_id: int,
    batch: _Batch,
    *,
    now: datetime,
    result: ImportResult,
    quota_mb: int = 0,
) -> None:
    """Write one prepared batch: every new item gets a task; the permission is checked again."""
    project = get_project(s, actor, project_id, "items.import")
    for line, message in batch.errors:
        result.add_error(line, message)
    result.duplicates += batch.duplicates
    if batch.blobs:
        _record_blobs(s, actor.workspace_id, batch.blobs, now, quota_mb)
    if not batch.items:
        return
    inserted = _bulk_insert(Raw.of(s), actor.workspace_id, project.id, project.overlap, batch.items, now)
    result.duplicates += len(batch.items) - inserted
    result.created += inserted


def import_batch(
    s: Session,
    actor: Actor,
    project_id: int,
    rows: list[ImportRow],
    *,
    blobs: BlobStore,
    now: datetime,
    result: ImportResult,
    outbound: OutboundPolicy | None = None,
) -> None:
    """Write one batch of rows: every good row becomes an item and a task; bad rows are reported."""
    schema = schemas.get(get_project(s, actor, project_id, "items.import"))
    target = _Target(actor.workspace_id, project_id, vault_of(s))
    fetcher = _Fetcher(outbound)
    try:
        batch = _prepare_batch(rows, schema, blobs, target, fetcher)
    finally:
        fetcher.close()
    _write_batch(s, actor, project_id, batch, now=now, result=result)


def _reserve_ids(db: Raw, table: str, count: int) -> list[int]:
    """Ids for ``count`` new rows, taken from the table's sequence (PostgreSQL: safe under
    concurrent imports; they need not be consecutive)."""
    rows = db.all(
        f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)",
        {"n": count},
    )
    return [int(r[0]) for r in rows]


# SQLite: the batch's stored data goes in as one JSON array of strings, expanded by json_each
# inside one INSERT ... SELECT, and its content hashes (32 hex characters each) as one BLOB,
# cut by position (``substr`` on a BLOB counts bytes; on TEXT it would count characters from
# the start every time). The driver releases the GIL for the whole statement (an executemany
# takes it back after every row), so the read-ahead thread parses and seals the next batch
# meanwhile without the two threads trading the GIL a million times. (An array of [hash, data]
# pairs cost two json_extract parses per row: 20 ms against 12 ms per 10,000 rows.) The WHERE
# is SQLite's rule for an upsert on INSERT ... SELECT.
HASH_CHARS = 32
_SQLITE_ITEMS = (
    "INSERT INTO items (id, workspace_id, project_id, content_hash, data, created_at) "
    f"SELECT :first + key, :w, :p, CAST(substr(:hashes, key * {HASH_CHARS} + 1, {HASH_CHARS}) AS TEXT), "
    "value, :now FROM json_each(:rows) WHERE true ON CONFLICT (project_id, content_hash) DO NOTHING"
)
# PostgreSQL: the batch as three arrays, unnested in one statement (one round trip).
_PG_ITEMS = (
    "INSERT INTO items (id, workspace_id, project_id, content_hash, data, created_at) "
    "SELECT x.id, :w, :p, x.h, CAST(x.d AS JSONB), :now "
    "FROM unnest(CAST(:ids AS BIGINT[]), CAST(:hs AS TEXT[]), CAST(:ds AS TEXT[])) AS x(id, h, d) "
    "ON CONFLICT (project_id, content_hash) DO NOTHING RETURNING id"
)
# Every new item's task, made from the item rows just written, in item order. Tasks with a
# priority, a gold answer or skills are then updated (one statement per such task).
_TASKS_FROM_ITEMS = (
    "INSERT INTO tasks (workspace_id, project_id, item_id, state, queue_rank, overlap, done, leased, "
    "is_gold, created_at) SELECT workspace_id, project_id, id, 'open', 0, :o, 0, 0, :no, :now FROM items "
)


def _bulk_insert(
    db: Raw, workspace_id: int, project_id: int, overlap: int, fresh: list[_Prepared], now: datetime
) -> int:
    """Insert items (skipping ones already in the project) and a task for each new one.

    Items go in with reserved ids and ``ON CONFLICT DO NOTHING`` on the content hash, in one
    statement; their tasks in a second, read from the new item rows. That costs less than
    looking every hash up first, or binding a million rows one by one. Returns how many items
    were new.
    """
    now_value = db.timestamp(now)
    ids = _reserve_ids(db, "items", len(fresh)) if db.is_postgres else None
    if ids is not None:
        created: list[int] = []
        for a, b in _slices(fresh, STATEMENT_BYTES):
            created += [
                int(r[0])
                for r in db.all(
                    _PG_ITEMS,
                    {
                        "ids": ids[a:b],
                        "hs": [p.content_hash for p in fresh[a:b]],
                        "ds": [p.encoded for p in fresh[a:b]],
                        "w": workspace_id,
                        "p": project_id,
                        "now": now_value,
                    },
                )
            ]
        if created:
            db.execute(
                _TASKS_FROM_ITEMS + "WHERE id = ANY(CAST(:ids AS BIGINT[])) ORDER BY id",
                {"o": overlap, "no": False, "now": now_value, "ids": sorted(created)},
            )
        new_ids = set(created)
        specials = [(i, p) for i, p in zip(ids, fresh, strict=True) if i in new_ids and _special(p)]
        count = len(created)
    else:
        # This unit of work is the only writer (BEGIN IMMEDIATE), so the ids after the largest
        # are free, and every item in that range afterwards is one this batch created.
        row = db.first("SELECT COALESCE(MAX(id), 0) FROM items", {})
        first = (int(row[0]) if row else 0) + 1
        count = 0
        for a, b in _slices(fresh, STATEMENT_BYTES):
            part = fresh[a:b]
            hashes = "".join([p.content_hash for p in part]).encode()
            if len(hashes) != HASH_CHARS * len(part):
                raise ValueError("a content hash is not 32 hexadecimal characters")
            count += db.execute(
                _SQLITE_ITEMS,
                {
                    "first": first + a,
                    "w": workspace_id,
                    "p": project_id,
                    "now": now_value,
                    "hashes": hashes,
                    "rows": orjson.dumps([p.encoded for p in part]).decode(),
                },
            )
        if count:
            db.execute(
                _TASKS_FROM_ITEMS + "WHERE id BETWEEN :a AND :b ORDER BY id",
                {"o": overlap, "no": False, "now": now_value, "a": first, "b": first + len(fresh) - 1},
            )
        specials = [(first + n, p) for n, p in enumerate(fresh) if _special(p)]
    if specials and count:
        gold_json = "CAST(:gold AS JSONB)" if db.is_postgres else ":gold"
        skills_json = "CAST(:skills AS JSONB)" if db.is_postgres else ":skills"
        # An item that was a duplicate has no task under its reserved id: nothing is updated.
        db.executemany(
            f"UPDATE tasks SET queue_rank = :rank, is_gold = :g, gold_answer = {gold_json}, "
            f"skills = {skills_json} WHERE item_id = :item",
            [
                {
                    "item": i,
                    "rank": -p.priority,
                    "g": p.gold is not None,
                    "gold": None if p.gold is None else orjson.dumps(p.gold).decode(),
                    "skills": None if p.skills is None else orjson.dumps(p.skills).decode(),
                }
                for i, p in specials
            ],
        )
    return count


def _slices(fresh: list[_Prepared], budget: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` ranges of ``fresh`` holding about ``budget`` bytes of item data each: a
    batch of large items goes in with several statements, so that the batch is not copied whole
    into one parameter (and again by the driver)."""
    start, size = 0, 0
    for n, p in enumerate(fresh):
        size += len(p.encoded)
        if size >= budget:
            yield start, n + 1
            start, size = n + 1, 0
    if start < len(fresh):
        yield start, len(fresh)


def _special(p: _Prepared) -> bool:
    """Whether an item's task differs from the default one (priority, gold answer, skills)."""
    return p.priority != 0 or p.gold is not None or p.skills is not None


def _record_blobs(
    s: Session, workspace_id: int, new_blobs: dict[str, tuple[int, str]], now: datetime, quota_mb: int = 0
) -> None:
    known = set(
        s.scalars(
            select(Blob.sha256).where(Blob.workspace_id == workspace_id, Blob.sha256.in_(list(new_blobs)))
        )
    )
    rows = [
        {"workspace_id": workspace_id, "sha256": sha, "size": size, "media_type": media, "created_at": now}
        for sha, (size, media) in new_blobs.items()
        if sha not in known
    ]
    if rows and quota_mb > 0:
        _check_quota(
            s, workspace_id, sum(new_blobs[sha][0] for sha in new_blobs if sha not in known), quota_mb
        )
    if rows:
        s.execute(insert(Blob), rows)


def storage_used(s: Session, workspace_id: int) -> int:
    """Bytes of files the workspace stores (each distinct file once, as stored)."""
    return int(
        s.scalar(select(func.coalesce(func.sum(Blob.size), 0)).where(Blob.workspace_id == workspace_id)) or 0
    )


def _check_quota(s: Session, workspace_id: int, adding: int, quota_mb: int) -> None:
    """Refuse files past the workspace's storage quota (ATTACKS R-05). The blob rows of a workspace
    are written one unit of work at a time per import batch, so the sum read here is current
    enough; two imports racing may pass the quota by at most one batch."""
    used = storage_used(s, workspace_id)
    if used + adding > quota_mb * 1024 * 1024:
        raise TooLarge(
            f"this workspace stores {used / 2**20:.1f} MiB of files and its quota is {quota_mb} MiB "
            f"(LABELHOUSE_WORKSPACE_QUOTA_MB); these {adding / 2**20:.1f} MiB do not fit. "
            "Trash and purge unused items, or ask the operator to raise the quota"
        )


def import_stream(
    unit_of_work: Callable[[], AbstractContextManager[Session]],
    actor: Actor,
    project_id: int,
    rows: Iterable[ImportRow],
    *,
    blobs: BlobStore,
    now: Callable[[], datetime],
    on_progress: Callable[[int, ImportResult], None] | None = None,
    batch_size: int = BATCH,
    outbound: OutboundPolicy | None = None,
    quota_mb: int = 0,
) -> ImportResult:
    """Import a stream of rows in batches, one unit of work each.

    Long work cannot be one transaction: a batch that commits is kept even if a later one fails,
    and re-running the import skips what is already there (content hash), so an interrupted import
    is finished by running it again. ``unit_of_work`` is the edge's: this function never commits.
    Files named by URL are fetched under ``outbound`` (None: refused, see ``remote_files``).
    """
    result = ImportResult()
    seen = 0
    with unit_of_work() as s:
        schema = schemas.get(get_project(s, actor, project_id, "items.import"))
        target = _Target(actor.workspace_id, project_id, vault_of(s))
    iterator: Iterator[ImportRow] = iter(rows)
    fetcher = _Fetcher(outbound)

    # Sealing happens here too, off the writer's thread: the writer only moves ciphertext.
    def read_ahead() -> _Batch:
        return _prepare_batch(list(islice(iterator, batch_size)), schema, blobs, target, fetcher)

    # Reading, parsing and checking the next batch overlaps writing this one (the driver releases
    # the GIL while SQLite works): half of an import's time.
    # A batch in flight outlives many young collections: see services.collector.
    with (
        fewer_collections(),
        fetcher,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-read") as reader,
    ):
        pending = reader.submit(read_ahead)
        while (batch := pending.result()).rows:
            pending = reader.submit(read_ahead)
            with unit_of_work() as s:
                _write_batch(s, actor, project_id, batch, now=now(), result=result, quota_mb=quota_mb)
            seen += batch.rows
            if on_progress is not None:
                on_progress(seen, result)
    return result


def list_items(
    s: Session, actor: Actor, project_id: int, *, after: int = 0, limit: int = 100, now: datetime
) -> list[tuple[Item, Task]]:
    """A page of the project's items with their data; which items were shown is recorded in the
    viewer's audit lane."""
    project = get_project(s, actor, project_id, "items.read")
    limit = max(1, min(limit, 1000))
    rows = s.execute(
        select(Item, Task)
        .join(Task, Task.item_id == Item.id)
        .where(Item.project_id == project.id, Item.deleted_at.is_(None), Item.id > after)
        .order_by(Item.id)
        .limit(limit)
    ).all()
    if rows:
        shown = {"project": project.id, "first": rows[0][0].id, "last": rows[-1][0].id, "count": len(rows)}
        audit.record_in_lane(s, actor, "items_viewed", f"project:{project.id}", shown, now=now)
    return [(r[0], r[1]) for r in rows]


def get_item(s: Session, actor: Actor, item_id: int, action: str = "items.read") -> tuple[Item, Project]:
    item = s.get(Item, item_id)
    if (
        item is None
        or item.workspace_id != actor.workspace_id
        or item.deleted_at is not None
        or not actor.may_see_project(ProjectId(item.project_id))
    ):
        # An item of a project one may not see answers exactly like a missing one.
        raise NotFound(f"item {item_id} not found")
    project = get_project(s, actor, item.project_id, action)
    return item, project


def delete_items(s: Session, actor: Actor, item_ids: list[int], *, now: datetime) -> int:
    from labelhouse.services import pauses

    count = 0
    gold_in: dict[int, Project] = {}  # projects that lost a gold task: their pauses may no longer hold
    for item_id in item_ids:
        item, project = get_item(s, actor, item_id, "items.delete")
        if s.execute(
            text("SELECT 1 FROM tasks WHERE item_id = :i AND is_gold AND state != 'trashed'"), {"i": item.id}
        ).first():
            gold_in[project.id] = project
        item.deleted_at = now
        s.execute(
            text("UPDATE tasks SET state = 'trashed' WHERE item_id = :i AND state != 'trashed'"),
            {"i": item.id},
        )
        s.execute(
            text(
                "UPDATE leases SET state = 'released', ended_at = :now WHERE state = 'active' AND task_id IN (SELECT id FROM tasks WHERE item_id = :i)"
            ),
            {"i": item.id, "now": now},
        )
        s.execute(text("UPDATE tasks SET leased = 0 WHERE item_id = :i"), {"i": item.id})
        count += 1
    s.flush()
    for project in gold_in.values():
        pauses.reconsider(s, actor, project, now=now)
    if item_ids:
        audit.record(
            s,
            actor.workspace_id,
            "items_deleted",
            f"items:{len(item_ids)}",
            actor=actor,
            details={"ids": item_ids[:1000]},
            now=now,
        )
    return count


def get_item_for_holder(s: Session, actor: Actor, item_id: int, *, now: datetime) -> tuple[Item, Project]:
    """An item, for an annotator who holds a live lease on one of its tasks (else not found)."""
    require(actor, "task.next")
    held = s.execute(
        text(
            "SELECT 1 FROM leases l JOIN tasks t ON t.id = l.task_id WHERE t.item_id = :i AND l.user_id = :u "
            "AND l.state = 'active' AND l.expires_at > :now"
        ),
        {"i": item_id, "u": actor.user_id, "now": now},
    ).first()
    if held is None:
        raise NotFound(f"item {item_id} not found")
    return get_item(s, actor, item_id, "project.read")


def view_file(s: Session, actor: Actor, item_id: int, field: str, *, now: datetime) -> tuple[str, str]:
    """The blob (SHA-256, media type) of an item's file, for reviewers and managers or an annotator
    holding a live lease on the item; the view is recorded in the viewer's audit lane."""
    if allowed(actor.role, "items.read"):
        item, _project = get_item(s, actor, item_id)
    else:
        item, _project = get_item_for_holder(s, actor, item_id, now=now)
    ref = fields_of(s, item).get(field)
    if not isinstance(ref, dict) or "blob" not in ref:
        raise NotFound(f"item {item_id} has no file in field {field!r}")
    blob = s.get(Blob, (actor.workspace_id, ref["blob"]))
    if blob is None:
        raise NotFound("file not found")
    audit.record_in_lane(s, actor, "asset_viewed", f"item:{item_id}", {"field": field}, now=now)
    return blob.sha256, blob.media_type
