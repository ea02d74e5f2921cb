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
