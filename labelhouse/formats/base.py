"""What readers yield and writers consume, and the Protocols of both."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, ClassVar, NamedTuple, Protocol

from labelhouse.controls.schema import Schema


@dataclass
class ImportRow:
    """One row of an import file: either ``data`` (an item record) or ``error`` (why not).

    ``line`` is 1-based (the line of a JSONL/CSV file, or the entry number of a folder/zip).
    ``files`` maps a field of ``data`` to the bytes of a binary part (an image) and its file
    name; the importer stores them in the blob store and replaces the field with a reference.
    ``meta`` carries item metadata that is not a field to label (priority, gold answer, skills).
    """

    line: int
    data: dict[str, Any] | None = None
    error: str | None = None
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


class ExportAnnotation(NamedTuple):
    """One annotation of an exported task (a tuple: an export makes one per annotation, and a
    frozen dataclass's ``__init__`` costs nearly twice as much)."""

    id: int
    annotator: str
    answer: dict[str, Any]
    version: int
    created_at: datetime
    lead_time_s: float | None


class ExportRecord(NamedTuple):
    """A task with its item and the latest version of each of its annotations (a tuple, like
    ``ExportAnnotation``)."""

    task_id: int
    item_id: int
    item: dict[str, Any]
    annotations: tuple[ExportAnnotation, ...]
    # control name -> {"value", "confidence", "n"}: the inferred answer of the task (None: not computed)
    consensus: dict[str, dict[str, Any]] | None = None


class Reader(Protocol):
    name: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]

    def read(self, stream: IO[bytes]) -> Iterator[ImportRow]: ...


class Writer(Protocol):
    name: ClassVar[str]
    media_type: ClassVar[str]
    extension: ClassVar[str]

    def write(self, records: Iterable[ExportRecord], schema: Schema) -> Iterator[bytes]: ...
