"""bench/loop.py with the server connecting as a role that row security applies to (Z-08).

The usual bench serves as the superuser ``postgres``, for which PostgreSQL skips row security;
this runs the same loop with the server logged in as a plain role (tests/security/app_role.py), so
the policies of migration 0010 are evaluated on every statement. Same arguments as loop.py::

    python bench/loop_rls.py --database postgresql --tasks 20000 --seconds 15
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import systems  # noqa: E402

from tests.security.app_role import app_role_url  # noqa: E402

_cli = systems.LabelhouseSystem._cli


def _serve_as_app_role(self: Any, *args: str) -> list[str]:
    # Migrations and the owner account are made as the superuser (as an operator would); the
    # server then logs in as the app role, granted the tables after they exist.
    cmd = _cli(self, *args)
    if args and args[0] == "serve" and self.database_url:
        url = app_role_url(self.database_url)
        cmd = [url if part == self.database_url else part for part in cmd]
    return cmd


systems.LabelhouseSystem._cli = _serve_as_app_role  # type: ignore[method-assign]
sys.argv = [str(HERE / "loop.py"), *sys.argv[1:]]
runpy.run_path(str(HERE / "loop.py"), run_name="__main__")
