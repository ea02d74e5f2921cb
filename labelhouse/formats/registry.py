"""The registry of import readers and export writers; built-ins register like outside ones."""

from __future__ import annotations

from labelhouse.core.errors import Invalid
from labelhouse.core.load_once import LoadOnce
from labelhouse.formats.base import Reader, Writer

_READERS: dict[str, Reader] = {}
_WRITERS: dict[str, Writer] = {}


def register_reader(reader: Reader) -> Reader:
    _READERS[reader.name] = reader
    return reader


def register_writer(writer: Writer) -> Writer:
    _WRITERS[writer.name] = writer
    return writer


def readers() -> dict[str, Reader]:
    _load_builtins()
    return dict(_READERS)


def writers() -> dict[str, Writer]:
    _load_builtins()
    return dict(_WRITERS)


def get_reader(name: str) -> Reader:
    known = readers()
    try:
        return known[name]
    except KeyError:
        raise Invalid(
            f"unknown import format {name!r}; known: {', '.join(sorted(known))}", field="format"
        ) from None


def get_writer(name: str) -> Writer:
    known = writers()
    try:
        return known[name]
    except KeyError:
        raise Invalid(
            f"unknown export format {name!r}; known: {', '.join(sorted(known))}", field="format"
        ) from None


def reader_for_filename(filename: str) -> Reader:
    """The reader whose extension ends ``filename`` (case-insensitive; the longest one wins)."""
    lowered = filename.lower()
    by_extension = {ext.lower(): r for r in readers().values() for ext in r.extensions}
    for ext in sorted(by_extension, key=len, reverse=True):
        if lowered.endswith(ext):
            return by_extension[ext]
    raise Invalid(
        f"cannot tell the format of {filename!r} from its extension; "
        f"known extensions: {', '.join(sorted(by_extension))}",
        field="filename",
    )


def _import_builtins() -> None:
    from labelhouse.formats import (  # noqa: F401  (importing registers)
        coco,
        csvfile,
        dpo,
        images,
        jsonl,
        sft,
    )


_load_builtins = LoadOnce(_import_builtins)
