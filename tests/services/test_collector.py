"""services.collector: bulk work raises the young generation's threshold, and puts it back."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from labelhouse.services import collector, exports


@pytest.fixture(autouse=True)
def _default_threshold() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_nested_and_concurrent_users_restore_the_first_setting() -> None:
    with collector.fewer_collections():
        assert gc.get_threshold() == (collector.BULK_GEN0, 10, 10)
        with collector.fewer_collections():
            assert gc.get_threshold()[0] == collector.BULK_GEN0
        assert gc.get_threshold()[0] == collector.BULK_GEN0  # the outer one still runs
        inside = threading.Event()
        leave = threading.Event()

        def other() -> None:
            with collector.fewer_collections():
                inside.set()
                leave.wait(5)

        worker = threading.Thread(target=other)
        worker.start()
        assert inside.wait(5)
    assert gc.get_threshold()[0] == collector.BULK_GEN0  # the other thread's work is not over
    leave.set()
    worker.join(5)
    assert gc.get_threshold() == (700, 10, 10)


def test_a_failure_restores_and_a_disabled_collector_stays_disabled() -> None:
    with pytest.raises(RuntimeError), collector.fewer_collections():
        raise RuntimeError("boom")
    assert gc.get_threshold() == (700, 10, 10)
    gc.set_threshold(0)
    with collector.fewer_collections():
        assert gc.get_threshold()[0] == 0
    assert gc.get_threshold()[0] == 0


def test_an_export_stream_closed_early_restores_the_threshold() -> None:
    chunks = exports._with_fewer_collections(iter([b"a", b"b", b"c"]))
    assert gc.get_threshold()[0] == 700  # nothing happens before the first chunk is asked for
    assert next(chunks) == b"a"
    assert gc.get_threshold()[0] == collector.BULK_GEN0
    chunks.close()  # the client went away
    assert gc.get_threshold()[0] == 700
