"""The PostgreSQL labeling loop's threads (api/hotpool.py): a call's result, its error and the
caller's context cross to the thread and back."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from labelhouse.api.hotpool import HotThreads

_where: contextvars.ContextVar[str] = contextvars.ContextVar("where", default="unset")


def test_results_errors_and_the_callers_context_cross_over() -> None:
    pool = HotThreads(3, name="test-hot")
    try:

        async def main() -> None:
            _where.set("request")

            def job(n: int) -> tuple[int, str, str]:
                return n * 2, _where.get(), threading.current_thread().name

            results = await asyncio.gather(*(pool.call(job, n) for n in range(20)))
            assert [r[0] for r in results] == [n * 2 for n in range(20)]
            assert {r[1] for r in results} == {"request"}
            assert {r[2] for r in results} <= {f"test-hot-{i}" for i in range(3)}

            def broken() -> None:
                raise LookupError("no such row")

            with pytest.raises(LookupError, match="no such row"):
                await pool.call(broken)
            assert (await pool.call(job, 5))[0] == 10  # the thread survived the error

        asyncio.run(main())
    finally:
        pool.stop()
    assert pool.size == 3


def test_thread_count_follows_the_setting_the_cpus_and_the_pool() -> None:
    from labelhouse.api.deps import hot_thread_count

    assert hot_thread_count(0, 40, 2) == 6  # automatic: three per CPU
    assert hot_thread_count(0, 40, None) == 6  # CPU count unknown: at least 6
    assert hot_thread_count(0, 40, 1) == 6
    assert hot_thread_count(0, 64, 16) == 48
    assert hot_thread_count(0, 5, 16) == 5  # never more than the pool's connections
    assert hot_thread_count(12, 40, 2) == 12  # the setting wins
    assert hot_thread_count(80, 40, 2) == 40


def test_the_setting_is_read_and_checked() -> None:
    from labelhouse.core.errors import Invalid
    from labelhouse.settings import load_settings

    assert load_settings(env={}).hot_threads == 0
    assert load_settings(env={"LABELHOUSE_HOT_THREADS": "6"}).hot_threads == 6
    with pytest.raises(Invalid, match="LABELHOUSE_HOT_THREADS"):
        load_settings(env={"LABELHOUSE_HOT_THREADS": "-1"})


def test_a_call_marked_first_runs_before_the_calls_already_waiting() -> None:
    pool = HotThreads(1, name="test-first")
    order: list[str] = []
    gate = threading.Event()
    try:

        async def main() -> None:
            def job(tag: str) -> str:
                if tag == "busy":
                    gate.wait(5)
                order.append(tag)
                return tag

            busy = asyncio.ensure_future(pool.call(job, "busy"))
            await asyncio.sleep(0.05)  # the only thread is now held by "busy"
            waiting = [asyncio.ensure_future(pool.call(job, f"then{i}")) for i in range(3)]
            urgent = asyncio.ensure_future(pool.call(job, "first", first=True))
            await asyncio.sleep(0.05)
            gate.set()
            assert await asyncio.gather(busy, *waiting, urgent) == [
                "busy",
                "then0",
                "then1",
                "then2",
                "first",
            ]

        asyncio.run(main())
    finally:
        pool.stop()
    assert order == ["busy", "first", "then0", "then1", "then2"]


def test_many_calls_on_both_lines_each_run_once() -> None:
    pool = HotThreads(4, name="test-both")
    try:

        async def main() -> list[int]:
            return await asyncio.gather(*(pool.call(lambda n: n, n, first=n % 3 == 0) for n in range(3000)))

        assert asyncio.run(main()) == list(range(3000))
    finally:
        pool.stop()
