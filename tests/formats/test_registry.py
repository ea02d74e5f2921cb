"""The format registry: lookup by name and by file name, and outside formats registering alike."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, ClassVar

import pytest

from labelhouse.controls import Schema
from labelhouse.core.errors import Invalid
from labelhouse.formats import ExportRecord, ImportRow, get_reader, get_writer, readers, registry, writers


def test_builtins_are_registered() -> None:
    assert set(readers()) == {"jsonl", "json", "csv", "images"}
    assert set(writers()) == {"jsonl", "csv", "coco", "sft", "dpo"}
    for name, writer in writers().items():
        assert writer.name == name and writer.media_type and writer.extension.startswith(".")


def test_unknown_writer_names_the_known_ones() -> None:
    with pytest.raises(Invalid) as caught:
        get_writer("xlsx")
    assert caught.value.field == "format"
    assert caught.value.message == "unknown export format 'xlsx'; known: coco, csv, dpo, jsonl, sft"


def test_unknown_reader_is_invalid() -> None:
    with pytest.raises(Invalid, match="unknown import format 'parquet'; known: csv, images, json, jsonl"):
        get_reader("parquet")


@pytest.mark.parametrize(
    ("filename", "name"),
    [
        ("items.jsonl", "jsonl"),
        ("ITEMS.NDJSON", "jsonl"),
        ("items.json", "json"),
        ("a.b.csv", "csv"),
        ("table.tsv", "csv"),
        ("photos.zip", "images"),
    ],
)
def test_reader_for_filename_picks_by_extension(filename: str, name: str) -> None:
    assert registry.reader_for_filename(filename).name == name


def test_reader_for_unknown_extension_lists_the_known_ones() -> None:
    with pytest.raises(Invalid) as caught:
        registry.reader_for_filename("items.xlsx")
    assert caught.value.field == "filename"
    assert "known extensions: .csv, .json, .jsonl, .ndjson, .tsv, .zip" in caught.value.message


class _YamlReader:
    name: ClassVar[str] = "yaml-test"
    extensions: ClassVar[tuple[str, ...]] = (".test.yaml",)

    def read(self, stream: IO[bytes]) -> Iterator[ImportRow]:
        yield ImportRow(line=1, data={"raw": stream.read().decode()})


class _NullWriter:
    name: ClassVar[str] = "null-test"
    media_type: ClassVar[str] = "text/plain"
    extension: ClassVar[str] = ".txt"

    def write(self, records: Iterable[ExportRecord], schema: Schema) -> Iterator[bytes]:
        yield b""


def test_an_outside_format_registers_like_a_builtin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_READERS", dict(registry._READERS))
    monkeypatch.setattr(registry, "_WRITERS", dict(registry._WRITERS))
    registry.register_reader(_YamlReader())
    registry.register_writer(_NullWriter())
    assert get_reader("yaml-test").name == "yaml-test"
    assert registry.reader_for_filename("x.test.yaml").name == "yaml-test"
    assert get_writer("null-test").media_type == "text/plain"
