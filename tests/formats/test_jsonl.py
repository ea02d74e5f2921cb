"""JSON Lines and JSON array import; JSON Lines export and the streaming every writer shares."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest

from labelhouse.controls import parse_schema
from labelhouse.formats import ExportAnnotation, ExportRecord, ImportRow, get_reader, get_writer, jsonl


def _read(name: str, data: bytes) -> list[ImportRow]:
    return list(get_reader(name).read(io.BytesIO(data)))


def test_bad_lines_become_error_rows_with_their_line_number_and_reading_goes_on() -> None:
    rows = _read("jsonl", b'{"a": 1}\n\n{"a": 2,}\n[1, 2]\n"text"\n{"a": 3}')
    assert [r.line for r in rows] == [1, 3, 4, 5, 6]
    assert rows[0] == ImportRow(line=1, data={"a": 1})
    assert rows[1].data is None and rows[1].error is not None
    assert rows[1].error.startswith("line 3: not valid JSON: ")
    assert rows[1].error.endswith(" — each line must be one JSON object")
    assert rows[2].error == "line 4: a JSON array, not an object — each line must be one JSON object"
    assert rows[3].error == "line 5: a JSON string, not an object — each line must be one JSON object"
    assert rows[4] == ImportRow(line=6, data={"a": 3})


def test_bom_crlf_and_whitespace_lines_are_fine() -> None:
    rows = _read("jsonl", b'\xef\xbb\xbf{"a": "\xc3\xa9"}\r\n   \r\n{"b": null}\r\n')
    assert rows == [ImportRow(line=1, data={"a": "é"}), ImportRow(line=3, data={"b": None})]


def test_invalid_utf8_is_an_error_row() -> None:
    rows = _read("jsonl", b'{"a": "\xff"}\n{"a": 1}\n')
    assert rows[0].line == 1 and rows[0].error and "not valid JSON" in rows[0].error
    assert rows[1] == ImportRow(line=2, data={"a": 1})


def test_deep_nesting_is_an_error_row_not_a_crash() -> None:
    rows = _read("jsonl", b"[" * 100_000 + b"]" * 100_000 + b'\n{"ok": 1}\n')
    assert rows[0].error and rows[0].error.startswith("line 1: not valid JSON")
    assert rows[1] == ImportRow(line=2, data={"ok": 1})


def test_a_line_over_the_limit_is_skipped_without_being_held(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 100)
    long = b'{"a": "' + b"x" * 1000 + b'"}\n'
    rows = _read("jsonl", b'{"a": 1}\n' + long + b'{"a": 2}\n')
    assert rows[0] == ImportRow(line=1, data={"a": 1})
    assert rows[1].line == 2 and rows[1].error and "longer than" in rows[1].error
    assert rows[2] == ImportRow(line=3, data={"a": 2})


def test_reader_streams_line_by_line() -> None:
    class CountingStream(io.BytesIO):
        def readline(self, size: int | None = -1) -> bytes:  # type: ignore[override]
            self.calls = getattr(self, "calls", 0) + 1
            return super().readline(size)

    stream = CountingStream(b'{"a": 1}\n' * 1000)
    rows = get_reader("jsonl").read(stream)
    assert next(rows).data == {"a": 1}
    assert stream.calls == 1


def test_json_array_reader() -> None:
    rows = _read("json", b'[{"a": 1}, 2, {"b": [true]}]')
    assert rows[0] == ImportRow(line=1, data={"a": 1})
    assert rows[1].line == 2 and rows[1].error and "a JSON number, not an object" in rows[1].error
    assert rows[2] == ImportRow(line=3, data={"b": [True]})


@pytest.mark.parametrize(
    ("data", "message"),
    [(b'{"a": 1}', "array of objects"), (b"[{", "not valid JSON"), (b"", "not valid JSON")],
)
def test_json_reader_refuses_what_is_not_an_array(data: bytes, message: str) -> None:
    (row,) = _read("json", data)
    assert row.line == 1 and row.error and message in row.error


def test_json_reader_refuses_files_over_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonl, "MAX_JSON_BYTES", 10)
    (row,) = _read("json", b'[{"a": 1}, {"b": 2}]')
    assert row.error and "use JSON Lines" in row.error


def _many(count: int, pulled: list[int]) -> Iterator[ExportRecord]:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(count):
        pulled.append(n)
        yield ExportRecord(
            task_id=n,
            item_id=n,
            item={"text": f"item {n} " + "x" * 200},
            annotations=(ExportAnnotation(n, "ana", {"reply": "y" * 100}, 1, at, None),),
        )


@pytest.mark.parametrize("name", ["jsonl", "csv", "sft"])
def test_writers_stream_in_chunks_without_holding_all_records(name: str) -> None:
    schema = parse_schema({"controls": [{"name": "reply", "type": "text", "over": "text"}]})
    pulled: list[int] = []
    chunks = get_writer(name).write(_many(5000, pulled), schema)
    first = next(chunks)
    assert jsonl.CHUNK_BYTES <= len(first) < 2 * jsonl.CHUNK_BYTES
    assert len(pulled) < 1000, "the writer read far ahead of what it wrote"
    rest = list(chunks)
    assert len(rest) > 5 and len(pulled) == 5000


def test_export_line_shape() -> None:
    at = datetime(2024, 1, 1, 8, 30, 15, 123000, tzinfo=UTC)
    record = ExportRecord(1, 2, {"t": "=1"}, (ExportAnnotation(3, "ana", {"c": ["x"]}, 2, at, 4.0),))
    schema = parse_schema({"controls": [{"name": "c", "type": "text"}]})
    (line,) = b"".join(get_writer("jsonl").write([record], schema)).splitlines()
    assert orjson.loads(line) == {
        "task_id": 1,
        "item_id": 2,
        "item": {"t": "=1"},  # raw: spreadsheet escaping is for CSV only
        "annotations": [
            {
                "id": 3,
                "annotator": "ana",
                "answer": {"c": ["x"]},
                "version": 2,
                "created_at": "2024-01-01T08:30:15.123000Z",
                "lead_time_s": 4.0,
            }
        ],
    }


def test_iso_utc() -> None:
    from datetime import timedelta, timezone

    assert (
        jsonl.iso_utc(datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=2)))) == "2023-12-31T23:00:00Z"
    )
    assert jsonl.iso_utc(datetime(2024, 1, 1)) == "2024-01-01T00:00:00Z"


def test_chunked_joins_small_pieces() -> None:
    assert list(jsonl.chunked([b"ab", b"cd", b"e"], size=3)) == [b"abcd", b"e"]
    assert list(jsonl.chunked([])) == []


def test_export_lines_are_byte_identical_to_iso_utc_strings() -> None:
    """The writer leaves ``created_at`` to orjson (formatted in C); the bytes must be those of
    the earlier form, which put ``iso_utc`` strings in the dict, for every kind of datetime."""
    import random
    from datetime import timedelta, timezone
    from zoneinfo import ZoneInfo

    zones = [None, UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
    zones += [ZoneInfo("UTC"), ZoneInfo("Europe/London"), ZoneInfo("America/New_York")]
    rng = random.Random(7)
    moments = [datetime(1, 1, 2, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)]
    for _ in range(3000):
        moment = datetime(1970, 1, 1) + timedelta(
            seconds=rng.randrange(-(10**9), 8 * 10**9),
            microseconds=rng.choice([0, 1, 999999, rng.randrange(10**6)]),
        )
        moments.append(moment.replace(tzinfo=rng.choice(zones), fold=rng.choice([0, 0, 1])))
    records = [
        ExportRecord(
            n, n, {"t": "é\u2028", "f": 0.1, "n": None}, (ExportAnnotation(n, "a", {"c": [1]}, 1, m, 2.5),), c
        )
        for n, m in enumerate(moments)
        for c in ({"c": {"value": [1], "confidence": 1.0, "n": 1}},)
    ]
    schema = parse_schema({"controls": [{"name": "c", "type": "text"}]})
    before = b""
    for r in records:
        line = jsonl.record_dict(r)
        for a in line["annotations"]:
            a["created_at"] = jsonl.iso_utc(a["created_at"])
        before += orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE)
    assert b"".join(get_writer("jsonl").write(records, schema)) == before
