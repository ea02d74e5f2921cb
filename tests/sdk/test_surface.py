"""The SDK's public surface is pinned, and the SDK loads without any of the server."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import labelhouse
import labelhouse.sdk
from labelhouse.sdk import errors


def test_all_is_pinned() -> None:
    assert labelhouse.sdk.__all__ == [
        "Client",
        "Conflict",
        "Forbidden",
        "Invalid",
        "JobFailed",
        "LabelhouseError",
        "NotFound",
        "Task",
        "TooLarge",
        "TooMany",
        "Unauthenticated",
        "Unavailable",
    ]
    assert all(hasattr(labelhouse.sdk, name) for name in labelhouse.sdk.__all__)
    assert labelhouse.Client is labelhouse.sdk.Client


def test_error_codes_match_the_server() -> None:
    from labelhouse.core import errors as server

    assert {code: cls.__name__ for code, cls in errors.ERRORS.items()} == {
        code: cls.__name__ for code, cls in server.ERRORS.items()
    }
    assert all(issubclass(cls, errors.LabelhouseError) for cls in errors.ERRORS.values())


def test_the_sdk_imports_nothing_of_the_server() -> None:
    code = textwrap.dedent(
        """
        import sys
        import labelhouse
        from labelhouse.sdk import Client
        Client("http://127.0.0.1:1", "t").close()
        labelhouse.Client
        forbidden = ("labelhouse.api", "labelhouse.storage", "labelhouse.core", "labelhouse.services",
                     "sqlalchemy", "fastapi", "starlette", "pydantic", "tqdm")
        loaded = sorted(m for m in sys.modules if m.startswith(forbidden))
        print(",".join(loaded))
        """
    )
    root = Path(labelhouse.__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert done.stdout.strip() == ""
