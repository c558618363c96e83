"""Retry loops and cancellation.

Python 3.11: a `cancel()` that lands while a library's own timeout fires (asyncio.timeout,
pymodbus, aiomqtt, httpx) can come out as that library's timeout error. A retry loop that
catches it would then go on forever although its task was cancelled; it calls
`stop_if_cancelled()` first in every handler.
"""

from __future__ import annotations

import asyncio


def stop_if_cancelled() -> None:
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
