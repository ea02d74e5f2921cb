"""What a file is, told by its bytes: the allowlist of media types labelhouse stores and serves.

An uploaded or fetched file is never typed by its name, its URL or the Content-Type somebody
sent: ``identify`` reads the magic bytes and returns one of ``ALLOWED`` or refuses the file.
Images are also opened by Pillow (``images.image_row``), which refuses broken files and pixel
floods (decompression bombs) before decoding. Everything else, HTML and SVG included (they can
run scripts in a browser), is refused.

``inline`` says whether the file may be shown in the browser (images, audio, video); the rest
(PDF, point clouds) is served only as a download (``Content-Disposition: attachment``).
"""

from __future__ import annotations

from dataclasses import dataclass

from labelhouse.core.errors import Invalid
from labelhouse.formats import images


@dataclass(frozen=True)
class Media:
    media_type: str
    extension: str
    width: int | None = None
    height: int | None = None

    @property
    def inline(self) -> bool:
        return self.media_type.split("/")[0] in ("image", "audio", "video")


# (offset, magic) -> (media type, extension); images are decided by Pillow below.
_MAGIC: list[tuple[int, bytes, str, str]] = [
    (0, b"%PDF-", "application/pdf", ".pdf"),
    (0, b"fLaC", "audio/flac", ".flac"),
    (0, b"OggS", "audio/ogg", ".ogg"),
    (0, b"ID3", "audio/mpeg", ".mp3"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm", ".webm"),
    (0, b"LASF", "application/vnd.las", ".las"),
    (0, b"ply\n", "application/x-ply", ".ply"),
    (0, b"ply\r\n", "application/x-ply", ".ply"),
]
_RIFF = {b"WAVE": ("audio/wav", ".wav"), b"AVI ": ("video/x-msvideo", ".avi")}
_FTYP_AUDIO = (b"M4A ", b"M4B ")
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")

ALLOWED = sorted(
    {m[2] for m in _MAGIC}
    | {v[0] for v in _RIFF.values()}
    | {"audio/mp4", "video/mp4", "audio/mpeg", "image/x-pcd"}
    | {"image/png", "image/jpeg", "image/mpo", "image/gif", "image/webp", "image/bmp", "image/tiff"}
)


def _is_pcd(data: bytes) -> bool:
    head = data[:256].lstrip()
    return head.startswith(b"# .PCD") or (head.startswith(b"VERSION") and b"\nFIELDS" in head)


def _non_image(data: bytes) -> Media | None:
    for offset, magic, media_type, ext in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return Media(media_type, ext)
    if data[:4] == b"RIFF" and data[8:12] in _RIFF:
        media_type, ext = _RIFF[data[8:12]]
        return Media(media_type, ext)
    if data[4:8] == b"ftyp":
        if data[8:12] in _FTYP_AUDIO:
            return Media("audio/mp4", ".m4a")
        return Media("video/mp4", ".mp4")
    if len(data) > 1 and data[0] == 0xFF and (data[1] & 0xE0) == 0xE0 and (data[1] & 0x06) != 0:
        return Media("audio/mpeg", ".mp3")  # an MPEG audio frame header
    if _is_pcd(data):
        return Media("image/x-pcd", ".pcd")  # a point cloud (PCL's own type name)
    return None


def identify(data: bytes, *, what: str = "the file") -> Media:
    """The media type of ``data`` from its content, or ``Invalid`` saying it is not allowed."""
    if data.startswith(_IMAGE_MAGIC) or data[8:12] == b"WEBP":
        row = images.image_row(1, what, data)
        if row.error is not None:
            raise Invalid(row.error)
        assert row.data is not None
        ref = row.data["image"]
        ext = {"image/jpeg": ".jpg", "image/tiff": ".tif"}.get(ref["media_type"])
        return Media(
            ref["media_type"], ext or "." + ref["media_type"].split("/")[1], ref["width"], ref["height"]
        )
    found = _non_image(data)
    if found is None:
        raise Invalid(
            f"{what} is not an allowed type (images, audio, video, point clouds, PDF; told by its "
            "content, not its name); HTML, SVG and scripts are never stored"
        )
    return found
