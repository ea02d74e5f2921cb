"""Import readers and export writers: one module per file format, registered by name."""

from labelhouse.formats.base import (
    ExportAnnotation,
    ExportRecord,
    ImportRow,
    Reader,
    Writer,
)
from labelhouse.formats.registry import get_reader, get_writer, readers, writers

__all__ = [
    "ExportAnnotation",
    "ExportRecord",
    "ImportRow",
    "Reader",
    "Writer",
    "get_reader",
    "get_writer",
    "readers",
    "writers",
]
