"""The first calls of a fresh process come from many threads at once: none may see a half-filled
registry (seen under load as "unknown control type 'choices'; known types: boxes")."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import threading
from labelhouse.controls import get_control
from labelhouse.formats import get_writer
barrier = threading.Barrier(16)
failures = []
def work():
    barrier.wait()
    try:
        get_control("choices"); get_control("text"); get_writer("dpo"); get_writer("jsonl")
    except Exception as exc:
        failures.append(repr(exc))
threads = [threading.Thread(target=work) for _ in range(16)]
[t.start() for t in threads]; [t.join() for t in threads]
print("FAIL" if failures else "OK", failures[:1])
"""


def test_concurrent_first_use_sees_every_builtin() -> None:
    for _ in range(5):
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
        ).stdout
        assert out.startswith("OK"), out
