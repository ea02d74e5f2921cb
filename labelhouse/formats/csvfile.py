"""CSV/TSV import and CSV export, with spreadsheet formula injection neutralized.

Import, ``csv`` (``.csv``, ``.tsv``): UTF-8 (a byte-order mark is ignored). The header row names
the fields; the delimiter is a tab when the header has more tabs than commas, else a comma. Each
row becomes ``{field: string}``; ``ImportRow.line`` is the file line where the row starts (the
header is line 1). Values are never parsed further: a cell that looks like JSON (``{"a": 1}``,
``[1, 2]``) or a number stays a string; use JSON Lines for typed or nested items. A row with the
wrong number of cells is an error row naming its line, and reading goes on. Bytes that are not
UTF-8 end the read with one error row naming their line (rows before them are kept). A cell is
limited to ``MAX_CELL_CHARS`` characters and a line to ``MAX_LINE_BYTES`` bytes.

Export, ``csv``: one row per annotation (a task with no annotation yet gives one row with the
annotation columns empty)::

    task_id,item_id,annotation_id,annotator,version,created_at,lead_time_s,
    item.<field>... (the first record's item fields), answer.<control>... (the schema's controls)

When the exporter computed consensus (the server always does), each control also gets
``consensus.<control>``, ``consensus.<control>.confidence``, ``consensus.<control>.n`` and
``consensus.<control>.method`` after the answers: the task's consensus answer, its confidence,
the number of annotations it rests on, and how it was reached (``stored``: the task's stored
consensus, as the product decided it; ``computed``: the control's rule run by the exporter) (the
same on every row of a task; empty when nobody answered that control).

Item fields that a later record lacks are left empty; fields only later records have are not
exported (use JSON Lines for items of varying shape). Lists and objects are JSON-encoded, booleans
are ``true``/``false``, ``None`` is empty.

Formula injection: a text cell (headers included) that starts with ``= + - @``, a tab, a carriage
return, or their full-width forms, is written with a leading single quote (``'=1+1``), so that a
spreadsheet shows it as text instead of running it. Numbers are written as they are. To keep this
invertible, a text that already starts with quotes followed by a trigger gets one more quote. The
reader undoes exactly this: a cell whose text after one leading quote would have been escaped
loses that quote, so a CSV export re-imports to the same strings (a hand-made cell ``'=x`` is
read as ``=x``).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from typing import IO, Any, ClassVar

import orjson

from labelhouse.controls.schema import Schema
from labelhouse.formats.base import ExportAnnotation, ExportRecord, ImportRow
from labelhouse.formats.jsonl import chunked, iso_utc
from labelhouse.formats.registry import register_reader, register_writer

MAX_CELL_CHARS = 10 * 1024 * 1024
MAX_LINE_BYTES = 16 * 1024 * 1024
FORMULA_TRIGGERS = frozenset("=+-@\t\r＝＋－＠")
FIXED_COLUMNS = (
    "task_id",
    "item_id",
    "annotation_id",
    "annotator",
    "version",
    "created_at",
    "lead_time_s",
)


def _looks_like_formula(text: str) -> bool:
    return text.lstrip("'")[:1] in FORMULA_TRIGGERS


def neutralize(text: str) -> str:
    """``'=1+1`` for ``=1+1``: a spreadsheet shows the cell as text."""
    return "'" + text if _looks_like_formula(text) else text


def unneutralize(text: str) -> str:
    """The inverse of ``neutralize``."""
    return text[1:] if text.startswith("'") and _looks_like_formula(text[1:]) else text


class CsvReader:
    name: ClassVar[str] = "csv"
    extensions: ClassVar[tuple[str, ...]] = (".csv", ".tsv")

    def read(self, stream: IO[bytes]) -> Iterator[ImportRow]:
        # csv's cell limit is process-wide; it is only ever raised here, never lowered.
        csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL_CHARS))
        return _rows(_text_lines(stream))


class _LineTooLong(Exception):
    pass


def _text_lines(stream: IO[bytes]) -> Iterator[str]:
    """The file's lines, decoded one by one so that an error can name its line."""
    first = True
    while raw := stream.readline(MAX_LINE_BYTES + 1):
        if len(raw) > MAX_LINE_BYTES:
            raise _LineTooLong
        if first:
            raw, first = raw.removeprefix(codecs.BOM_UTF8), False
        yield raw.decode("utf-8")


def _unreadable(line: int, exc: Exception) -> ImportRow:
    if isinstance(exc, UnicodeDecodeError):
        why = f"the file is not UTF-8 ({exc.reason} at byte {exc.start + 1} of the line)"
        return ImportRow(line=line, error=f"line {line}: {why} — save it as CSV UTF-8 and import again")
    limit = MAX_LINE_BYTES // (1024 * 1024)
    return ImportRow(line=line, error=f"line {line}: longer than {limit} MB; reading stopped")


def _rows(lines: Iterator[str]) -> Iterator[ImportRow]:
    try:
        first = next(lines, "")
    except (UnicodeDecodeError, _LineTooLong) as exc:
        yield _unreadable(1, exc)
        return
    if not first.strip():
        yield ImportRow(line=1, error="the file is empty; its first row must name the fields")
        return
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
    try:
        header = [unneutralize(name.strip()) for name in next(reader)]
    except (UnicodeDecodeError, _LineTooLong) as exc:
        yield _unreadable(reader.line_num + 1, exc)
        return
    except csv.Error as exc:
        yield ImportRow(line=1, error=f"line 1: {exc}; the first row must name the fields")
        return
    problem = _header_problem(header)
    if problem:
        yield ImportRow(line=1, error=f"line 1: {problem}")
        return
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except (UnicodeDecodeError, _LineTooLong) as exc:
            # line_num counts the lines read so far: the bad one is the next.
            yield _unreadable(reader.line_num + 1, exc)
            return
        except csv.Error as exc:
            yield ImportRow(line=start, error=f"line {start}: {exc}")
            continue
        if not cells:
            continue
        if len(cells) != len(header):
            yield ImportRow(
                line=start,
                error=f"line {start}: {len(cells)} cells, but the header has {len(header)} — "
                "quote values that contain the delimiter",
            )
            continue
        yield ImportRow(line=start, data={k: unneutralize(v) for k, v in zip(header, cells, strict=True)})


def _header_problem(header: list[str]) -> str | None:
    for index, name in enumerate(header):
        if not name:
            return f"header cell {index + 1} is empty; every column needs a name"
        if name in header[:index]:
            return f"the header names {name!r} twice; column names must be unique"
    return None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return neutralize(value)
    return orjson.dumps(value).decode()


def _line(cells: Iterable[Any]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow([_cell(c) for c in cells])
    return out.getvalue().encode()


class CsvWriter:
    name: ClassVar[str] = "csv"
    media_type: ClassVar[str] = "text/csv"
    extension: ClassVar[str] = ".csv"

    def write(self, records: Iterable[ExportRecord], schema: Schema) -> Iterator[bytes]:
        return chunked(self._lines(iter(records), schema))

    def _lines(self, records: Iterator[ExportRecord], schema: Schema) -> Iterator[bytes]:
        first = next(records, None)
        fields = list(first.item) if first is not None else []
        controls = [c.name for c in schema.controls]
        agreed = first is not None and first.consensus is not None
        consensus_columns = (
            [
                col
                for c in controls
                for col in (
                    f"consensus.{c}",
                    f"consensus.{c}.confidence",
                    f"consensus.{c}.n",
                    f"consensus.{c}.method",
                )
            ]
            if agreed
            else []
        )
        yield _line(
            [
                *FIXED_COLUMNS,
                *(f"item.{f}" for f in fields),
                *(f"answer.{c}" for c in controls),
                *consensus_columns,
            ]
        )
        if first is None:
            return
        for record in itertools.chain([first], records):
            item_cells = [record.item.get(f) for f in fields]
            if agreed:
                found = record.consensus or {}
                agreed_cells = [
                    cell
                    for c in controls
                    for cell in (
                        (
                            found[c].get("value"),
                            found[c].get("confidence"),
                            found[c].get("n"),
                            found[c].get("method"),
                        )
                        if c in found
                        else (None, None, None, None)
                    )
                ]
            else:
                agreed_cells = []
            annotations: Iterable[ExportAnnotation | None] = record.annotations or [None]
            for a in annotations:
                fixed = (
                    [None] * 5
                    if a is None
                    else [a.id, a.annotator, a.version, iso_utc(a.created_at), a.lead_time_s]
                )
                answers = [None if a is None else a.answer.get(c) for c in controls]
                yield _line([record.task_id, record.item_id, *fixed, *item_cells, *answers, *agreed_cells])


register_reader(CsvReader())
register_writer(CsvWriter())
