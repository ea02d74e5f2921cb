"""Which process a benchmark probe acts in (``bench/gc_probe``, ``bench/tail_probe``): their
``sitecustomize`` is imported by every Python process started with the probe on PYTHONPATH (the
load generator, CLI helpers, the server), and only the server is to be measured."""

from __future__ import annotations


def is_server() -> bool:
    """Whether this process is ``labelhouse serve`` (its command line has ``serve``)."""
    try:
        with open("/proc/self/cmdline", "rb") as fh:
            return b"serve" in fh.read().split(b"\0")
    except OSError:
        return False
