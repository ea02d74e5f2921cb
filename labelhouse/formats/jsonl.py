"""JSON Lines (and plain JSON array) import, JSON Lines export.

Import, ``jsonl`` (``.jsonl``, ``.ndjson``): one JSON object per line, read line by line. Blank
lines are skipped but still counted, so ``ImportRow.line`` is the line in the file. A line that is
not valid JSON, not an object, or longer than ``MAX_LINE_BYTES`` becomes an error row and reading
goes on. A UTF-8 byte-order mark on the first line is ignored.

Import, ``json`` (``.json``): a top-level array of objects, ``line`` = array index + 1. The whole
file is parsed at once, so it is limited to ``MAX_JSON_BYTES``; use JSON Lines above that.

Export, ``jsonl``: one line per task (see ``examples/export.jsonl``)::

    {"task_id", "item_id", "item", "annotations": [{"id", "annotator", "answer", "version",
     "created_at" (ISO 8601, UTC, "Z"), "lead_time_s"}],
     "consensus": {control name: {"value", "confidence", "n", "method"[, "posterior"]}}}

``consensus`` is present when the exporter computed it (the server always does): the inferred
answer of each control with its confidence in [0, 1], the number of annotations behind it, and
``method``: ``stored`` when it is the task's stored consensus (the label the product decided on
when the task completed or a review changed it; under adaptive overlap weighted by each
annotator's estimated accuracy, with ``posterior``, the one-coin posterior of a single-choice
winner), ``computed`` when the exporter ran the control's rule, unweighted (a task with no stored
consensus yet). Rejected annotations are listed but left out of the consensus.

Values are written as they are (no spreadsheet escaping: that is the CSV writer's job).

This module also holds the small pieces every streaming writer shares: ``chunked`` and
``iso_utc``.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any, ClassVar

import orjson

from labelhouse.controls.schema import Schema
from labelhouse.formats.base import ExportRecord, ImportRow
from labelhouse.formats.registry import register_reader, register_writer

CHUNK_BYTES = 64 * 1024
MAX_LINE_BYTES = 10 * 1024 * 1024
MAX_JSON_BYTES = 100 * 1024 * 1024
_HINT = "each line must be one JSON object"


def chunked(pieces: Iterable[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Join small pieces into chunks of about ``size`` bytes (the last one may be shorter)."""
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        if len(buffer) >= size:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def iso_utc(moment: datetime) -> str:
    """``2024-05-01T12:00:00Z``; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def record_dict(record: ExportRecord) -> dict[str, Any]:
    """A record as the JSON object of its line; ``created_at`` stays a UTC datetime, which
    ``dumps_record`` writes as ``iso_utc`` would (orjson formats it in C: a fifth of an export's
    time went to ``iso_utc``)."""
    out = _plain_record(record)
    if record.consensus is not None:
        out["consensus"] = record.consensus
    return out


def _plain_record(record: ExportRecord) -> dict[str, Any]:
    return {
        "task_id": record.task_id,
        "item_id": record.item_id,
        "item": record.item,
        "annotations": [
            {
                "id": a.id,
                "annotator": a.annotator,
                "answer": a.answer,
                "version": a.version,
                "created_at": as_utc(a.created_at),
                "lead_time_s": a.lead_time_s,
            }
            for a in record.annotations
        ],
    }


def as_utc(moment: datetime) -> datetime:
    """The same moment with ``UTC`` as its zone (a naive one is taken to be UTC already)."""
    zone = moment.tzinfo
    if zone is UTC:
        return moment
    return moment.replace(tzinfo=UTC) if zone is None else moment.astimezone(UTC)


def dumps_record(record: ExportRecord) -> bytes:
    """One export line: ``record_dict`` as JSON, its datetimes (all UTC) in ``iso_utc``'s form."""
    return orjson.dumps(record_dict(record), option=_RECORD_OPTIONS)


_RECORD_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_UTC_Z


def dumps_line(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "null"


def _object_or_error(raw: bytes) -> dict[str, Any] | str:
    """The parsed object, or what is wrong with ``raw``."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return f"not valid JSON: {exc}"
    if not isinstance(value, dict):
        return f"a JSON {_kind(value)}, not an object"
    return value


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """``(line number, bytes)``, or ``(line number, None)`` for a line over the limit."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the long line
                raw = stream.readline(CHUNK_BYTES)
            yield number, None
            continue
        yield number, raw


class JsonlReader:
    name: ClassVar[str] = "jsonl"
    extensions: ClassVar[tuple[str, ...]] = (".jsonl", ".ndjson")

    def read(self, stream: IO[bytes]) -> Iterator[ImportRow]:
        for number, raw in _lines(stream):
            if raw is None:
                limit = MAX_LINE_BYTES // (1024 * 1024)
                yield ImportRow(line=number, error=f"line {number}: longer than {limit} MB — {_HINT}")
                continue
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            if not raw.strip():
                continue
            parsed = _object_or_error(raw)
            if isinstance(parsed, str):
                yield ImportRow(line=number, error=f"line {number}: {parsed} — {_HINT}")
            else:
                yield ImportRow(line=number, data=parsed)


class JsonArrayReader:
    name: ClassVar[str] = "json"
    extensions: ClassVar[tuple[str, ...]] = (".json",)

    def read(self, stream: IO[bytes]) -> Iterator[ImportRow]:
        raw = stream.read(MAX_JSON_BYTES + 1)
        if len(raw) > MAX_JSON_BYTES:
            limit = MAX_JSON_BYTES // (1024 * 1024)
            yield ImportRow(line=1, error=f"a .json file is limited to {limit} MB; use JSON Lines (.jsonl)")
            return
        try:
            value = orjson.loads(raw.removeprefix(codecs.BOM_UTF8))
        except orjson.JSONDecodeError as exc:
            yield ImportRow(line=1, error=f"not valid JSON: {exc}")
            return
        if not isinstance(value, list):
            yield ImportRow(line=1, error="a .json import is an array of objects: [{...}, ...]")
            return
        for index, entry in enumerate(value):
            if isinstance(entry, dict):
                yield ImportRow(line=index + 1, data=entry)
            else:
                yield ImportRow(
                    line=index + 1,
                    error=f"element {index + 1}: a JSON {_kind(entry)}, not an object — "
                    "each element of the array must be one JSON object",
                )


class JsonlWriter:
    name: ClassVar[str] = "jsonl"
    media_type: ClassVar[str] = "application/x-ndjson"
    extension: ClassVar[str] = ".jsonl"

    def write(self, records: Iterable[ExportRecord], schema: Schema) -> Iterator[bytes]:
        return chunked(map(dumps_record, records))


register_reader(JsonlReader())
register_reader(JsonArrayReader())
register_writer(JsonlWriter())
