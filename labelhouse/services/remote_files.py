"""Item files given by URL: fetched through the guarded client, then treated as an untrusted upload.

An import record names a file by URL with an object in place of the field's value::

    {"image": {"url": "https://cdn.example.com/cat.jpg"}, "caption": "a cat"}

A plain string that happens to be a URL stays text (a project may label URLs). The file is
fetched with ``security.outbound`` (only public hosts, or those the operator allows), its type is
decided from its bytes (``formats.media``: images, audio, video, point clouds, PDF; HTML and SVG
are refused), and it is stored like any uploaded file. The stored name is made by the server
(``<sha256 prefix><extension>``), never taken from the URL. The field keeps the URL as
``source_url`` (``url`` is where labelhouse itself serves the file).
A URL that cannot be fetched or is not an allowed type makes its row an error row; the message
is blind (it names the field and the kind of failure, never what the remote server said).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from labelhouse.core.errors import Invalid, LabelhouseError
from labelhouse.formats import media
from labelhouse.formats.base import ImportRow

if TYPE_CHECKING:
    from labelhouse.security.outbound import OutboundClient

# An inline import (one request) fetches at most this many URLs; more become a job.
INLINE_FETCHES = 20


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    """The item's fields: the record itself, or the ``data`` of an envelope."""
    inner = data.get("data")
    return inner if isinstance(inner, dict) else data


def url_fields(row: ImportRow) -> list[str]:
    """The fields of ``row`` given as ``{"url": ...}``."""
    if row.data is None:
        return []
    return [k for k, v in _fields(row.data).items() if isinstance(v, dict) and "url" in v]


def names_urls(row: ImportRow) -> bool:
    """Whether ``row`` gives any field as ``{"url": ...}`` (``url_fields`` without the list)."""
    if row.data is None:
        return False
    for value in _fields(row.data).values():  # a loop: this runs for every row of every import
        if isinstance(value, dict) and "url" in value:
            return True
    return False


def count_url_refs(rows: Iterable[ImportRow], stop_after: int) -> int:
    """How many URLs ``rows`` ask to fetch, counting no further than ``stop_after``."""
    count = 0
    for row in rows:
        count += len(url_fields(row))
        if count > stop_after:
            break
    return count


def fetch_row(row: ImportRow, client: OutboundClient | None) -> ImportRow:
    """``row`` with every URL field fetched into ``row.files``, or an error row saying which failed."""
    names = url_fields(row)
    if not names or row.data is None:
        return row
    data = dict(row.data)
    fields = dict(_fields(data))
    files = dict(row.files)
    for name in names:
        ref = dict(fields[name])
        url = ref.pop("url", None)
        try:
            if client is None:
                raise Invalid("fetching files by URL is not available here")
            if not isinstance(url, str) or ref:
                raise Invalid('a file by URL is {"url": "https://..."} and nothing else')
            fetched = client.fetch(url)
            kind = media.identify(fetched.data, what="the fetched file")
        except LabelhouseError as exc:
            return ImportRow(line=row.line, error=f"line {row.line}: field {name!r}: {exc.message}")
        stored_name = hashlib.sha256(fetched.data).hexdigest()[:16] + kind.extension
        ref.update({"source_url": url, "name": stored_name, "media_type": kind.media_type})
        if kind.width is not None:
            ref.update({"width": kind.width, "height": kind.height})
        fields[name] = ref
        files[name] = (stored_name, fetched.data)
    if isinstance(data.get("data"), dict):
        data["data"] = fields
    else:
        data = fields
    return ImportRow(line=row.line, data=data, files=files)
