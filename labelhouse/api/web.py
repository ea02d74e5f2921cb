"""Serving the browser UI: plain ES modules from ``labelhouse/web``, no build step.

Every asset URL carries a hash of the whole UI (``/ui/static/<hash>/app.js``), so browsers cache
assets forever and a new version is a new URL; modules import each other by relative paths, which
keep the hash. The page and assets get a Content-Security-Policy that allows scripts and styles
from this origin only: no inline script, no eval, no third-party origin.
"""

from __future__ import annotations

import hashlib
import mimetypes
from functools import lru_cache
from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from labelhouse.core.errors import NotFound

WEB_DIR = Path(str(resources.files("labelhouse") / "web"))
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".html": "text/html"}

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=1)
def ui_hash() -> str:
    """A digest of every UI file: part of each asset URL, so a changed file is a new URL."""
    digest = hashlib.sha256()
    for path in sorted(WEB_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(WEB_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


# Views a manager opens now and then load on demand; announcing them too would make the
# annotator's first load wait behind requests it does not need (six connections per host).
_LAZY_VIEWS = frozenset({"audit", "manage", "members", "newproject", "quality", "review"})


def _preloaded(module: str) -> bool:
    parts = module.split("/")
    if parts[0] == "views":
        return parts[1].removesuffix(".js") not in _LAZY_VIEWS
    return module not in ("charts.js", "yaml.js")


@lru_cache(maxsize=1)
def _index() -> bytes:
    """The page, with the modules of the shell, the labeling view and every widget announced up
    front (``modulepreload``): the browser fetches them in parallel instead of discovering them
    one import level at a time."""
    static = f"/ui/static/{ui_hash()}"
    modules = sorted(m for p in WEB_DIR.rglob("*.js") if _preloaded(m := p.relative_to(WEB_DIR).as_posix()))
    preload = "\n".join(f'<link rel="modulepreload" href="{static}/{m}">' for m in modules)
    html = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    return html.replace("{{preload}}", preload).replace("{{static}}", static).encode()


@lru_cache(maxsize=256)
def _file(path: Path) -> bytes:
    return path.read_bytes()


# The handlers are `async def`: they only read cached bytes, and a sync handler would cost a hop
# to the thread pool per file (some twenty on a cold load), which a busy machine makes slow.
@router.get("/")
async def root() -> Response:
    return RedirectResponse("/ui/", status_code=302)


@router.get("/ui/static/{version}/{path:path}")
async def asset(version: str, path: str) -> Response:
    """One UI file. Only known suffixes, and only files inside the UI folder (no traversal)."""
    target = (WEB_DIR / path).resolve()
    media = _TYPES.get(target.suffix)
    if media is None or not target.is_file() or not target.is_relative_to(WEB_DIR.resolve()):
        raise NotFound(f"no UI file {path!r}")
    # An old hash still serves the current file (a page open across an upgrade keeps working),
    # but only the current hash may be cached for good.
    cache = "public, max-age=31536000, immutable" if version == ui_hash() else "no-cache"
    return Response(
        _file(target),
        media_type=media or mimetypes.guess_type(target.name)[0],
        headers={"Cache-Control": cache, "Content-Security-Policy": CSP},
    )


@router.get("/ui/{path:path}")
async def page(path: str) -> Response:
    """The single page: every UI route answers with it, and the router in app.js takes over."""
    return Response(
        _index(),
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"},
    )
