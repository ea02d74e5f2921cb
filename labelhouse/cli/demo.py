"""The demo workspace: three sample projects on data that ships in the package."""

from __future__ import annotations

import io
import random
import secrets
from importlib import resources

from PIL import Image, ImageDraw

from labelhouse.formats.base import ImportRow
from labelhouse.formats.registry import get_reader
from labelhouse.runtime import Runtime
from labelhouse.services import accounts, projects
from labelhouse.services import items as item_service
from labelhouse.services.accounts import actor_for
from labelhouse.services.clock import utcnow

WORKSPACE = "demo"

TEXT_SCHEMA = {
    "controls": [
        {
            "name": "sentiment",
            "type": "choices",
            "over": "text",
            "options": ["positive", "negative", "neutral"],
        }
    ]
}
BOXES_SCHEMA = {
    "controls": [
        {
            "name": "objects",
            "type": "boxes",
            "over": "image",
            "labels": ["circle", "square"],
            "shapes": ["rectangle", "polygon"],
        }
    ]
}
PREFERENCE_SCHEMA = {
    "controls": [
        {"name": "preference", "type": "preference", "over": "responses", "prompt": "prompt"},
    ]
}


def _images(count: int = 12, seed: int = 7) -> list[ImportRow]:
    """Synthetic scenes of circles and squares: made here so no data is downloaded."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        img = Image.new(
            "RGB", (640, 480), (rng.randint(180, 255), rng.randint(180, 255), rng.randint(180, 255))
        )
        draw = ImageDraw.Draw(img)
        for _ in range(rng.randint(1, 4)):
            x, y, size = rng.randint(10, 500), rng.randint(10, 340), rng.randint(30, 120)
            color = (rng.randint(0, 150), rng.randint(0, 150), rng.randint(0, 150))
            if rng.random() < 0.5:
                draw.ellipse((x, y, x + size, y + size), fill=color)
            else:
                draw.rectangle((x, y, x + size, y + size), fill=color)
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        name = f"scene-{n:02d}.png"
        rows.append(
            ImportRow(
                line=n + 1,
                data={"image": {"name": name, "width": 640, "height": 480}},
                files={"image": (name, buf.getvalue())},
            )
        )
    return rows


def seed_demo(rt: Runtime) -> list[tuple[str, str, str, str]]:
    """Create (or refill) the demo workspace; return (email, password, token, role) per login."""
    now = utcnow()
    logins = []
    with rt.db.session() as s:
        for email, role in (
            ("owner@demo.local", "owner"),
            ("annotator1@demo.local", "annotator"),
            ("annotator2@demo.local", "annotator"),
        ):
            password = secrets.token_urlsafe(9)
            user, ws, issued = accounts.create_user_cli(
                s, email, workspace=WORKSPACE, role=role, password=password, with_token=True, now=now
            )
            assert issued is not None
            logins.append((email, password, issued.token, role))
            if role == "owner":
                owner_id, ws_id = user.id, ws.id
        owner = actor_for(s, ws_id, owner_id)
        existing = {p.name for p in projects.list_projects(s, owner)}
        made = {}
        for name, schema, overlap in (
            ("Review sentiment", TEXT_SCHEMA, 2),
            ("Shapes in scenes", BOXES_SCHEMA, 1),
            ("Which answer is better?", PREFERENCE_SCHEMA, 3),
        ):
            if name not in existing:
                made[name] = projects.create_project(
                    s, owner, projects.ProjectSettings(name=name, schema=schema, overlap=overlap), now=now
                ).id
    data = resources.files("labelhouse.demo") / "data"
    jsonl = get_reader("jsonl")
    for name, rows in (
        ("Review sentiment", lambda: jsonl.read(io.BytesIO((data / "reviews.jsonl").read_bytes()))),
        ("Shapes in scenes", _images),
        (
            "Which answer is better?",
            lambda: jsonl.read(io.BytesIO((data / "preferences.jsonl").read_bytes())),
        ),
    ):
        if name in made:
            item_service.import_stream(rt.db.session, owner, made[name], rows(), blobs=rt.blobs, now=utcnow)
    return logins
