"""Image import: a zip of images (reader ``images``, ``.zip``) or a folder (``read_folder``).

Each image becomes one item ``{"image": {"name": <path inside the zip/folder>, "width": W,
"height": H}}`` with its bytes in ``ImportRow.files["image"]``; the importer stores the bytes and
the name is only a label (it never becomes a path on this machine). ``line`` is the entry's
number in the archive (or in the sorted folder walk), counting skipped entries too.

Images are told by their content, not their extension: Pillow opens the header and verifies the
file, and only ``ALLOWED_FORMATS`` are tried (so PostScript, FITS, PSD and the like are refused
without running their decoders). What is not an image, or is broken, is an error row naming the
entry. Directories, ``__MACOSX/`` and hidden files (a path part starting with ``.``) are skipped
silently; symbolic links are error rows.

Limits, checked from the archive's directory before anything is decompressed (and again while
reading, since a directory can lie):

- ``MAX_ENTRY_BYTES`` (50 MB) per image, uncompressed: larger entries are error rows;
- ``MAX_RATIO`` (100): an entry over 1 MB that is compressed more than that is an error row (a
  zip bomb, not a photo);
- ``MAX_TOTAL_BYTES`` (2 GB) and ``MAX_ENTRIES`` per archive: a larger archive is refused whole,
  with one error row;
- ``MAX_PIXELS`` (100 megapixels) per image, read from the header before any pixel is decoded:
  larger images are error rows ("decompression bomb"). The check is ours rather than a change of
  ``PIL.Image.MAX_IMAGE_PIXELS``, which is process-wide and belongs to whoever else uses Pillow.

A zip needs random access: a stream that cannot seek is first copied to a temporary file (at most
``MAX_TOTAL_BYTES`` of it).
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, ClassVar

from PIL import Image, UnidentifiedImageError

from labelhouse.formats.base import ImportRow
from labelhouse.formats.registry import register_reader

MAX_ENTRY_BYTES = 50 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
MAX_ENTRIES = 100_000
MAX_RATIO = 100
MAX_PIXELS = 100_000_000
_RATIO_FROM_BYTES = 1024 * 1024
ALLOWED_FORMATS = ("PNG", "JPEG", "MPO", "GIF", "WEBP", "BMP", "TIFF")


def _skipped(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return not parts or parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts)


def _formats() -> list[str]:
    Image.init()
    return [f for f in ALLOWED_FORMATS if f in Image.OPEN]  # some depend on optional libraries


MAX_NAME_CHARS = 255


def clean_name(name: str) -> str:
    """A relative ``a/b.png`` label: no drive, no leading ``/``, no ``.`` or ``..`` parts, no
    control characters (they become ``_``), at most ``MAX_NAME_CHARS`` (the end is kept)."""
    name = "".join("_" if ord(c) < 32 or ord(c) == 127 else c for c in name)
    parts = name.replace("\\", "/").split("/")
    kept = [p for p in parts if p not in ("", ".", "..") and not p.endswith(":")]
    return "/".join(kept)[-MAX_NAME_CHARS:].lstrip("/") or "image"


def image_row(line: int, name: str, data: bytes) -> ImportRow:
    """The item for one image file, or an error row saying why it is not one."""
    try:
        with Image.open(io.BytesIO(data), formats=_formats()) as image:
            width, height = image.size
            media_type = Image.MIME.get(image.format or "", "application/octet-stream")
            if width * height > MAX_PIXELS:
                return _bomb(line, name, f"{width}x{height} pixels")
            image.verify()
    except Image.DecompressionBombError as exc:  # Pillow's own, higher limit: seen from the header
        return _bomb(line, name, str(exc))
    except UnidentifiedImageError:
        allowed = ", ".join(ALLOWED_FORMATS)
        return ImportRow(line=line, error=f"{name}: not an image (or not one of {allowed})")
    except Exception as exc:  # Pillow raises many types for a broken file
        return ImportRow(line=line, error=f"{name}: broken image ({exc})")
    return ImportRow(
        line=line,
        data={"image": {"name": name, "width": width, "height": height, "media_type": media_type}},
        files={"image": (name, data)},
    )


def _bomb(line: int, name: str, detail: str) -> ImportRow:
    limit = MAX_PIXELS // 1_000_000
    return ImportRow(
        line=line,
        error=f"{name}: over the {limit} megapixel limit ({detail}); refused as a possible "
        "decompression bomb — downscale it and import again",
    )


def _too_big(line: int, name: str) -> ImportRow:
    limit = MAX_ENTRY_BYTES // (1024 * 1024)
    return ImportRow(line=line, error=f"{name}: over {limit} MB uncompressed; not extracted")


class ImagesZipReader:
    name: ClassVar[str] = "images"
    extensions: ClassVar[tuple[str, ...]] = (".zip",)

    def read(self, stream: IO[bytes]) -> Iterator[ImportRow]:
        if stream.seekable():
            yield from _read_zip(stream)
            return
        with tempfile.TemporaryFile() as copy:
            if not _copy_at_most(stream, copy, MAX_TOTAL_BYTES):
                yield ImportRow(line=1, error=f"the zip is over {MAX_TOTAL_BYTES // 2**30} GB; split it")
                return
            copy.seek(0)
            yield from _read_zip(copy)


def _copy_at_most(source: IO[bytes], target: IO[bytes], limit: int) -> bool:
    """Copy ``source`` into ``target``; False (and stop) once more than ``limit`` bytes came."""
    copied = 0
    while chunk := source.read(1024 * 1024):
        copied += len(chunk)
        if copied > limit:
            return False
        target.write(chunk)
    return True


def _read_zip(stream: IO[bytes]) -> Iterator[ImportRow]:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError) as exc:
        yield ImportRow(line=1, error=f"not a readable zip file ({exc})")
        return
    with archive:
        entries = archive.infolist()
        total = sum(info.file_size for info in entries)
        if len(entries) > MAX_ENTRIES or total > MAX_TOTAL_BYTES:
            yield ImportRow(
                line=1,
                error=f"the zip holds {len(entries)} entries, {total / 2**30:.1f} GB uncompressed; "
                f"the limits are {MAX_ENTRIES} entries and {MAX_TOTAL_BYTES // 2**30} GB — "
                "split it into smaller archives",
            )
            return
        for line, info in enumerate(entries, start=1):
            name = clean_name(info.filename)
            if info.is_dir() or _skipped(name):
                continue
            yield _zip_entry(archive, line, info, name)


def _zip_entry(archive: zipfile.ZipFile, line: int, info: zipfile.ZipInfo, name: str) -> ImportRow:
    if stat.S_ISLNK(info.external_attr >> 16):
        return ImportRow(line=line, error=f"{name}: a symbolic link, not an image")
    if info.file_size > MAX_ENTRY_BYTES:
        return _too_big(line, name)
    if info.file_size > _RATIO_FROM_BYTES and info.file_size > MAX_RATIO * info.compress_size:
        return ImportRow(
            line=line,
            error=f"{name}: compressed {info.file_size // max(info.compress_size, 1)} to 1, over "
            f"the limit of {MAX_RATIO} to 1 (a zip bomb?); not extracted",
        )
    try:
        with archive.open(info) as entry:
            data = entry.read(MAX_ENTRY_BYTES + 1)
    except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError) as exc:
        return ImportRow(line=line, error=f"{name}: cannot be read from the zip ({exc})")
    if len(data) > MAX_ENTRY_BYTES:
        return _too_big(line, name)
    return image_row(line, name, data)


def read_folder(path: str | os.PathLike[str]) -> Iterator[ImportRow]:
    """The images under ``path``, walked in sorted order; symbolic links are not followed."""
    root = Path(path)
    total = 0
    line = 0
    for directory, subdirs, files in os.walk(root, followlinks=False):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for filename in sorted(files):
            line += 1
            file = Path(directory, filename)
            name = file.relative_to(root).as_posix()
            if _skipped(name):
                continue
            info = file.lstat()
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
                yield ImportRow(line=line, error=f"{name}: not a regular file (a link?); skipped")
                continue
            if info.st_size > MAX_ENTRY_BYTES:
                yield _too_big(line, name)
                continue
            total += info.st_size
            if total > MAX_TOTAL_BYTES:
                limit = MAX_TOTAL_BYTES // 2**30
                yield ImportRow(line=line, error=f"{name}: the folder is over {limit} GB; stopped")
                return
            with file.open("rb") as handle:  # the file may have grown since lstat
                data = handle.read(MAX_ENTRY_BYTES + 1)
            if len(data) > MAX_ENTRY_BYTES:
                yield _too_big(line, name)
                continue
            yield image_row(line, name, data)


register_reader(ImagesZipReader())
