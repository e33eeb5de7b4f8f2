"""Wait by polling with a deadline: return as soon as the condition holds.

No fixed sleeps: the poll interval starts small and grows, so a fast target is observed in
milliseconds and a slow one is not hammered. The interval is the *period* between the starts of
two probes: a probe that itself takes time (150 ms against a real staging) eats into the pause
instead of adding to it, so a condition that became true is seen within one period — at most
`_MAX_INTERVAL` plus one probe — however slow the target answers. A pause is never shorter than
`_MIN_PAUSE`: a probe slower than the period is followed by a short breath, not a busy loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from golive.errors import WaitTimeout

T = TypeVar("T")

_FIRST_INTERVAL = 0.01
_MAX_INTERVAL = 0.25
_GROWTH = 1.5
_MIN_PAUSE = 0.01


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
        probed_at = clock()
        try:
            value = probe()
        except retry_on as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        else:
            if until(value):
                return value
            last_value = value
        now = clock()
        elapsed = now - start
        if elapsed >= timeout:
            raise WaitTimeout(what, elapsed=elapsed, last_value=last_value, last_error=last_error)
        # the rest of this period (never a busy loop), and never past the deadline
        wanted = max(interval - (now - probed_at), _MIN_PAUSE)
        pause(min(wanted, max(timeout - elapsed, 0.0)))
        interval = min(interval * _GROWTH, _MAX_INTERVAL)
