"""Item files through the signed URLs `next` hands out: no token needed, bound to the user and
the lease, useless once the lease ends, the signature is altered, or the user is removed."""

from __future__ import annotations

import io
import zipfile

from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import Person, make_person

BOX_SCHEMA = {"controls": [{"name": "objects", "type": "boxes", "over": "image", "labels": ["cat"]}]}


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n in range(2):
            img = io.BytesIO()
            Image.new("RGB", (16 + n, 8), "white").save(img, format="PNG")
            z.writestr(f"{n}.png", img.getvalue())
    return buf.getvalue()


def test_signed_file_urls(client: TestClient, owner: Person, rt) -> None:  # type: ignore[no-untyped-def]
    pid = client.post(
        "/api/v1/projects", json={"name": "b", "schema": BOX_SCHEMA}, headers=owner.headers
    ).json()["id"]
    assert (
        client.post(f"/api/v1/projects/{pid}/items", content=_zip(), headers=owner.headers).json()["created"]
        == 2
    )
    ann = make_person(rt, "ann@acme.test", role="annotator")
    handout = client.post(f"/api/v1/projects/{pid}/next", headers=ann.headers).json()
    url = handout["task"]["item"]["image"]["url"]
    assert "sig=" in url and f"u={ann.user_id}" in url
    got = client.get(url)  # no Authorization header: the browser's <img src>
    assert got.status_code == 200 and got.content[:4] == b"\x89PNG"
    assert client.get(url.replace("sig=", "sig=x")).status_code == 401
    other = url.replace(f"u={ann.user_id}", f"u={owner.user_id}")  # someone else's id, same signature
    assert client.get(other).status_code == 401
    client.post(f"/api/v1/leases/{handout['lease']['id']}/release", headers=ann.headers)
    assert client.get(url).status_code == 404  # the lease ended: the link is dead
    again = client.post(f"/api/v1/projects/{pid}/next", headers=ann.headers).json()["task"]["item"]["image"][
        "url"
    ]
    assert client.get(again).status_code == 200
    assert client.delete(f"/api/v1/members/{ann.user_id}", headers=owner.headers).status_code == 204
    assert client.get(again).status_code == 401  # removed from the workspace
