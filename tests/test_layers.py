"""The tree is the architecture: imports point down the layers of docs/architecture.md."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "labelhouse"

# layer -> the labelhouse packages it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "controls": {"core"},
    "quality": {"core", "controls"},
    "security": {"core"},
    "storage": {"core"},
    "blobs": {"core", "security"},
    "formats": {"core", "controls"},
    "dispatch": {"core", "storage"},
    "jobs": {"core", "storage"},
    "ml": {"core", "storage", "controls", "quality"},
    "services": {
        "core",
        "controls",
        "quality",
        "security",
        "storage",
        "blobs",
        "dispatch",
        "formats",
        "jobs",
        "ml",
    },
    "sdk": set(),
}
PURE = {"core", "controls", "quality"}
IO_LIBS = {"sqlalchemy", "fastapi", "starlette", "httpx", "uvicorn", "psycopg"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_imports_point_down() -> None:
    problems = []
    for layer, allowed in ALLOWED.items():
        folder = ROOT / layer
        if not folder.exists():
            continue
        for path in folder.rglob("*.py"):
            for name in _imports(path):
                parts = name.split(".")
                if parts[0] == "labelhouse" and len(parts) > 1:
                    target = parts[1]
                    if target != layer and target not in allowed:
                        problems.append(f"{path.relative_to(ROOT)} imports labelhouse.{target}")
                if layer in PURE and parts[0] in IO_LIBS:
                    problems.append(f"{path.relative_to(ROOT)} (pure layer) imports {parts[0]}")
                if layer == "sdk" and parts[0] == "labelhouse" and len(parts) > 1 and parts[1] != "sdk":
                    problems.append(f"{path.relative_to(ROOT)} (sdk) imports the server")
    assert not problems, "\n".join(problems)


def test_no_modules_named_after_nothing() -> None:
    bad = [p for p in ROOT.rglob("*.py") if p.stem in {"utils", "helpers", "common", "misc"}]
    assert not bad
