"""CSV/TSV import and CSV export, including spreadsheet formula injection."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from labelhouse.controls import parse_schema
from labelhouse.formats import ExportAnnotation, ExportRecord, ImportRow, csvfile, get_reader, get_writer
from labelhouse.formats.csvfile import neutralize, unneutralize

AT = datetime(2024, 1, 1, tzinfo=UTC)
SCHEMA = parse_schema({"controls": [{"name": "reply", "type": "text"}, {"name": "note", "type": "text"}]})


def _read(data: bytes) -> list[ImportRow]:
    return list(get_reader("csv").read(io.BytesIO(data)))


def _export(*records: ExportRecord) -> list[list[str]]:
    text = b"".join(get_writer("csv").write(records, SCHEMA)).decode()
    return list(csv.reader(io.StringIO(text)))


def test_wrong_cell_counts_are_error_rows_and_reading_goes_on() -> None:
    rows = _read(b"a,b\n1,2\n1,2,3\n\n4\n5,6\n")
    assert rows[0] == ImportRow(line=2, data={"a": "1", "b": "2"})
    assert rows[1] == ImportRow(
        line=3, error="line 3: 3 cells, but the header has 2 — quote values that contain the delimiter"
    )
    assert rows[2].line == 5 and rows[2].error and rows[2].error.startswith("line 5: 1 cells")
    assert rows[3] == ImportRow(line=6, data={"a": "5", "b": "6"})


def test_line_numbers_count_newlines_inside_quoted_cells() -> None:
    rows = _read(b'a,b\n"x\ny\nz",1\nlast,2\n')
    assert rows == [
        ImportRow(line=2, data={"a": "x\ny\nz", "b": "1"}),
        ImportRow(line=5, data={"a": "last", "b": "2"}),
    ]


def test_values_stay_strings_even_when_they_look_like_json() -> None:
    (row,) = _read(b'a,b,c\n"{""k"": 1}",[1],3.5\n')
    assert row.data == {"a": '{"k": 1}', "b": "[1]", "c": "3.5"}


def test_tsv_is_told_from_the_header() -> None:
    rows = _read(b"text\tlabel\nhello, world\tgreeting\n")
    assert rows == [ImportRow(line=2, data={"text": "hello, world", "label": "greeting"})]


def test_bom_is_ignored() -> None:
    assert _read(b"\xef\xbb\xbftext\nhi\n") == [ImportRow(line=2, data={"text": "hi"})]


def test_bad_utf8_ends_the_read_with_one_error_row() -> None:
    rows = _read(b"text\nfine\ncaf\xe9\n" + b"more\n" * 10)
    assert rows[0] == ImportRow(line=2, data={"text": "fine"})
    assert len(rows) == 2 and rows[1].line == 3 and rows[1].error
    assert "not UTF-8" in rows[1].error and "save it as CSV UTF-8" in rows[1].error


def test_bad_utf8_in_the_header() -> None:
    (row,) = _read(b"\xff\xfet\x00e\x00x\x00t\x00\n")  # UTF-16
    assert row.line == 1 and row.error and "not UTF-8" in row.error


def test_a_line_over_the_limit_stops_the_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvfile, "MAX_LINE_BYTES", 50)
    rows = _read(b"a\nshort\n" + b"x" * 100 + b"\nafter\n")
    assert rows == [
        ImportRow(line=2, data={"a": "short"}),
        ImportRow(line=3, error="line 3: longer than 0 MB; reading stopped"),
    ]


def test_an_unterminated_quote_swallows_the_rest_into_one_bad_row() -> None:
    rows = _read(b'a,b\n1,2\n"open,3\n4,5\n')
    assert rows[0] == ImportRow(line=2, data={"a": "1", "b": "2"})
    assert rows[1].line == 3 and rows[1].error and "1 cells, but the header has 2" in rows[1].error
    assert len(rows) == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"a,,b\n1,2,3\n", "header cell 2 is empty"),
        (b"a,b,a\n1,2,3\n", "the header names 'a' twice"),
    ],
)
def test_header_problems_are_one_error_row(data: bytes, message: str) -> None:
    (row,) = _read(data)
    assert row.line == 1 and row.error and message in row.error


def test_the_callers_stream_stays_open() -> None:
    stream = io.BytesIO(b"a\n1\n")
    list(get_reader("csv").read(stream))
    assert not stream.closed


ATTACKS = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\t=1+1", "\r=1+1", "＝1+1"]


@pytest.mark.parametrize("value", ATTACKS)
def test_formula_cells_get_a_leading_quote(value: str) -> None:
    record = ExportRecord(1, 2, {value: value}, (ExportAnnotation(3, value, {"reply": value}, 1, AT, None),))
    header, row = _export(record)
    assert header[7] == "item." + value  # starts with "item.": harmless as it is
    assert row[3] == "'" + value  # annotator
    assert row[7] == "'" + value  # item field
    assert row[8] == "'" + value  # answer


def test_neutralize() -> None:
    assert neutralize("=x") == "'=x"
    assert neutralize("'=x") == "''=x"  # so that the reader can tell it from an escaped "=x"
    assert neutralize("a=x") == "a=x"
    assert neutralize("'quoted") == "'quoted"


def test_numbers_are_not_escaped_but_numeric_strings_are() -> None:
    record = ExportRecord(1, 2, {"n": -5, "s": "-5", "b": True, "l": ["=1"], "none": None}, ())
    header, row = _export(record)
    assert dict(zip(header[7:12], row[7:12], strict=True)) == {
        "item.n": "-5",
        "item.s": "'-5",
        "item.b": "true",
        "item.l": '["=1"]',
        "item.none": "",
    }


@pytest.mark.parametrize("value", [*ATTACKS, "'=already quoted", "''@two", "'plain", "plain", "", "'"])
def test_escaping_round_trips_through_the_reader(value: str) -> None:
    assert unneutralize(neutralize(value)) == value
    record = ExportRecord(1, 2, {"text": value}, ())
    exported = b"".join(get_writer("csv").write([record], SCHEMA))
    (row,) = _read(exported)
    assert row.data is not None and row.data["item.text"] == value


def test_one_row_per_annotation_and_header_from_the_first_record() -> None:
    first = ExportRecord(
        1,
        10,
        {"text": "a", "meta": {"k": 1}},
        (
            ExportAnnotation(1, "ana", {"reply": "r1"}, 2, AT, 3.0),
            ExportAnnotation(2, "ben", {"reply": "r2", "note": "n"}, 1, AT, None),
        ),
    )
    later = ExportRecord(2, 11, {"text": "b", "extra": "dropped"}, ())
    header, *rows = _export(first, later)
    assert header == [
        "task_id", "item_id", "annotation_id", "annotator", "version", "created_at", "lead_time_s",
        "item.text", "item.meta", "answer.reply", "answer.note",
    ]  # fmt: skip
    assert rows == [
        ["1", "10", "1", "ana", "2", "2024-01-01T00:00:00Z", "3.0", "a", '{"k":1}', "r1", ""],
        ["1", "10", "2", "ben", "1", "2024-01-01T00:00:00Z", "", "a", '{"k":1}', "r2", "n"],
        ["2", "11", "", "", "", "", "", "b", "", "", ""],
    ]


def test_no_records_gives_just_the_header() -> None:
    assert _export() == [
        [
            *"task_id,item_id,annotation_id,annotator,version,created_at,lead_time_s".split(","),
            "answer.reply",
            "answer.note",
        ]
    ]


def test_consensus_columns_when_the_exporter_computed_them() -> None:
    record = ExportRecord(
        1,
        10,
        {"text": "a"},
        (
            ExportAnnotation(1, "ana", {"reply": "r"}, 1, AT, None),
            ExportAnnotation(2, "ben", {"reply": "r"}, 1, AT, None),
        ),
        {"reply": {"value": "r", "confidence": 1.0, "n": 2, "method": "stored"}},
    )
    header, *rows = _export(record)
    assert header[-8:] == [
        "consensus.reply", "consensus.reply.confidence", "consensus.reply.n", "consensus.reply.method",
        "consensus.note", "consensus.note.confidence", "consensus.note.n", "consensus.note.method",
    ]  # fmt: skip
    assert [row[-8:] for row in rows] == [["r", "1.0", "2", "stored", "", "", "", ""]] * 2
