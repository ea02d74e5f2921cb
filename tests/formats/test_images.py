"""Image import from a zip or a folder: told by content, with archive and pixel bombs refused."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from labelhouse.formats import ImportRow, get_reader, images
from labelhouse.formats.images import read_folder


def _image_bytes(size: tuple[int, int] = (4, 3), fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(out, format=fmt)
    return out.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _bilevel_png(width: int, height: int) -> bytes:
    """A valid all-black 1-bit PNG, compressed row by row so the test never holds its pixels."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def _zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> io.BytesIO:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    out.seek(0)
    return out


def _read_zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> list[ImportRow]:
    return list(get_reader("images").read(_zip(entries)))


def test_images_are_told_by_content_and_the_rest_are_error_rows() -> None:
    png, jpeg = _image_bytes((4, 3)), _image_bytes((8, 6), "JPEG")
    rows = _read_zip(
        [
            ("a.png", png),
            ("photos/", b""),
            ("photos/b.jpg.txt", jpeg),  # a JPEG, whatever its name says
            ("__MACOSX/photos/._b.jpg", b"resource fork"),
            ("photos/.DS_Store", b"junk"),
            ("notes.png", b"just some text"),
            ("broken.png", png[:40]),
        ]
    )
    assert rows[0] == ImportRow(
        line=1,
        data={"image": {"name": "a.png", "width": 4, "height": 3, "media_type": "image/png"}},
        files={"image": ("a.png", png)},
    )
    assert rows[1].line == 3 and rows[1].data == {
        "image": {"name": "photos/b.jpg.txt", "width": 8, "height": 6, "media_type": "image/jpeg"}
    }
    assert rows[1].files["image"][1] == jpeg
    assert [(r.line, r.error is not None) for r in rows[2:]] == [(6, True), (7, True)]
    assert rows[2].error and rows[2].error.startswith("notes.png: not an image")
    assert rows[3].error and rows[3].error.startswith("broken.png: ")


def test_entry_names_are_labels_never_paths() -> None:
    png = _image_bytes()
    rows = _read_zip([("../../etc/evil.png", png), ("/abs/x.png", png), ("C:\\win\\y.png", png)])
    assert [r.data["image"]["name"] for r in rows if r.data] == ["etc/evil.png", "abs/x.png", "win/y.png"]
    assert [r.files["image"][0] for r in rows] == ["etc/evil.png", "abs/x.png", "win/y.png"]


def test_formats_outside_the_allowlist_are_refused_by_content() -> None:
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    out = io.BytesIO()
    Image.new("RGB", (2, 2)).save(out, format="PCX")
    rows = _read_zip([("x.png", eps), ("y.png", out.getvalue())])
    assert all(r.error and "not an image" in r.error for r in rows)


def test_a_pixel_bomb_png_is_an_error_row() -> None:
    bomb = _bilevel_png(20000, 20000)  # 400 megapixels in about 60 KB
    assert len(bomb) < 200_000
    (row,) = _read_zip([("bomb.png", bomb)])
    assert row.line == 1 and row.data is None and not row.files
    assert row.error and row.error.startswith("bomb.png: over the 100 megapixel limit")
    assert "decompression bomb" in row.error


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_our_pixel_limit_is_below_pillows_error_threshold() -> None:
    # 108 megapixels: Pillow only warns, we refuse.
    header_only = _bilevel_png(12000, 9000)
    (row,) = _read_zip([("big.png", header_only)])
    assert row.error == (
        "big.png: over the 100 megapixel limit (12000x9000 pixels); refused as a possible "
        "decompression bomb — downscale it and import again"
    )


def test_a_huge_entry_is_not_extracted() -> None:
    (row,) = _read_zip([("huge.bmp", b"\0" * (images.MAX_ENTRY_BYTES + 1))])
    assert row.error == "huge.bmp: over 50 MB uncompressed; not extracted"


def test_a_highly_compressed_entry_is_refused_as_a_zip_bomb() -> None:
    rows = _read_zip([("bomb.png", b"\0" * (2 * 1024 * 1024)), ("tiny.png", _image_bytes())])
    assert rows[0].error and "to 1, over the limit of 100 to 1" in rows[0].error
    assert rows[1].data is not None  # small entries are not held to the ratio


def test_an_archive_over_the_total_limit_is_refused_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    png = _image_bytes()
    monkeypatch.setattr(images, "MAX_TOTAL_BYTES", len(png) * 2)
    rows = _read_zip([("a.png", png), ("b.png", png), ("c.png", png)])
    assert len(rows) == 1 and rows[0].error and "split it into smaller archives" in rows[0].error


def test_an_archive_with_too_many_entries_is_refused_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "MAX_ENTRIES", 2)
    (row,) = _read_zip([(f"{n}.png", _image_bytes()) for n in range(3)])
    assert row.error and "3 entries" in row.error


def test_a_symlink_entry_is_an_error_row() -> None:
    link = zipfile.ZipInfo("link.png")
    link.external_attr = 0o120777 << 16
    (row,) = _read_zip([(link, b"/etc/passwd")])
    assert row.error == "link.png: a symbolic link, not an image"


def test_not_a_zip() -> None:
    (row,) = get_reader("images").read(io.BytesIO(b"not a zip at all"))
    assert row.line == 1 and row.error and row.error.startswith("not a readable zip file")


def test_a_stream_that_cannot_seek_is_spooled_up_to_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    archive = _zip([("a.png", _image_bytes())]).getvalue()
    rows = list(get_reader("images").read(Pipe(archive)))  # type: ignore[arg-type]
    assert rows[0].data == {"image": {"name": "a.png", "width": 4, "height": 3, "media_type": "image/png"}}
    monkeypatch.setattr(images, "MAX_TOTAL_BYTES", len(archive) - 1)
    (row,) = get_reader("images").read(Pipe(archive))  # type: ignore[arg-type]
    assert row.error and "split it" in row.error


def test_rows_stream_one_entry_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = images.image_row

    def counting(line: int, name: str, data: bytes) -> ImportRow:
        seen.append(name)
        return real(line, name, data)

    monkeypatch.setattr(images, "image_row", counting)
    rows: Iterator[ImportRow] = get_reader("images").read(
        _zip([(f"{n}.png", _image_bytes()) for n in range(50)])
    )
    assert next(rows).line == 1
    assert seen == ["0.png"]


def test_read_folder(tmp_path: Path) -> None:
    png = _image_bytes((5, 5))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "c.png").write_bytes(png)
    (tmp_path / "a.jpg").write_bytes(_image_bytes((2, 2), "JPEG"))
    (tmp_path / "readme.txt").write_text("hi")
    (tmp_path / ".hidden.png").write_bytes(png)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.png").write_bytes(png)
    os.symlink("/etc/passwd", tmp_path / "z.png")
    rows = list(read_folder(tmp_path))
    summary = [(r.line, r.data["image"]["name"] if r.data else r.error) for r in rows]
    assert summary == [
        (2, "a.jpg"),
        (3, "readme.txt: not an image (or not one of PNG, JPEG, MPO, GIF, WEBP, BMP, TIFF)"),
        (4, "z.png: not a regular file (a link?); skipped"),
        (5, "b/c.png"),
    ]
    assert rows[-1].files == {"image": ("b/c.png", png)}


def test_read_folder_refuses_big_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "MAX_ENTRY_BYTES", 10)
    (tmp_path / "a.png").write_bytes(_image_bytes())
    (row,) = read_folder(tmp_path)
    assert row.error and "not extracted" in row.error
