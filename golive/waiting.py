"""Wait by polling with a deadline: return as soon as the condition holds.

No fixed sleeps: the poll interval starts small and grows, so a fast target is
observed in milliseconds and a slow one is not hammered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from golive.errors import WaitTimeout

T = TypeVar("T")

_FIRST_INTERVAL = 0.01
_MAX_INTERVAL = 0.5


def eventually(
    probe: Callable[[], T],
    until: Callable[[T], bool] = bool,
    *,
    timeout: float,
    what: str,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `probe` until `until(value)` holds; return that value.

    Raises `WaitTimeout` with the last observed value (and the last error, when a
    `retry_on` exception was swallowed) and the elapsed time. The first probe
    always runs, even with `timeout=0`.
    """
    start = clock()
    interval = _FIRST_INTERVAL
    last_value: object = None
    last_error = ""
    while True:
        try:
            value = probe()
        except retry_on as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        else:
            if until(value):
                return value
            last_value = value
        elapsed = clock() - start
        if elapsed >= timeout:
            raise WaitTimeout(what, elapsed=elapsed, last_value=last_value, last_error=last_error)
        pause(min(interval, max(timeout - elapsed, 0.0)))  # the poll interval, not a fixed wait
        interval = min(interval * 2, _MAX_INTERVAL)
