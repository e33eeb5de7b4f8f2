"""Real-world latency for the sandbox's systems: a fixed delay plus jitter per system, added to
every request the system serves (from the suite and from the other systems alike).

The sandbox answers in milliseconds; a real staging takes tens to hundreds of milliseconds per
request and the agent's model seconds per answer. `--latency crm=150ms,model=2-5s` (or the
control API's `PUT /latency`) makes the sandbox behave like one, so run times measured against
it say something about a real run. Each request sleeps before it is handled, on the server's
event loop (asyncio.sleep), so concurrent requests wait side by side, as on a real server.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

SYSTEMS = ("crm", "chatwoot", "n8n", "model")
ENV = "GOLIVE_SANDBOX_LATENCY"
MAX_SECONDS = 120.0
_AMOUNT = r"(\d+(?:\.\d+)?)\s*(ms|s)?"
_DELAY_RE = re.compile(rf"^{_AMOUNT}\s*(?:([-+])\s*{_AMOUNT})?$")
_SYNTAX = "expected e.g. 150ms, 2s, 2-5s (a range) or 150ms+50ms (fixed plus jitter)"


@dataclass(frozen=True)
class Delay:
    """Between `low_s` and `high_s` seconds, uniformly (equal: a fixed delay)."""

    low_s: float
    high_s: float

    def sample(self, rng: random.Random) -> float:
        return self.low_s if self.high_s <= self.low_s else rng.uniform(self.low_s, self.high_s)

    def describe(self) -> str:
        def ms(seconds: float) -> str:
            return f"{seconds * 1000:g}ms"

        return ms(self.low_s) if self.high_s <= self.low_s else f"{ms(self.low_s)}-{ms(self.high_s)}"


def parse_delay(text: str) -> Delay:
    """`150ms`, `2s`, `2-5s` (the unit of the last number applies to a bare first one),
    `150ms+50ms` (fixed plus up to 50 ms of jitter)."""
    found = _DELAY_RE.match(text.strip().lower())
    if found is None:
        raise ValueError(f"latency {text!r}: {_SYNTAX}")
    first, first_unit, sign, second, second_unit = found.groups()
    if sign is None:
        low = high = _seconds(first, first_unit or "ms")
    elif sign == "-":
        low, high = _seconds(first, first_unit or second_unit or "ms"), _seconds(second, second_unit or "ms")
    else:
        low = _seconds(first, first_unit or second_unit or "ms")
        high = low + _seconds(second, second_unit or first_unit or "ms")
    if high < low:
        raise ValueError(f"latency {text!r}: the range ends below its start")
    if high > MAX_SECONDS:
        raise ValueError(f"latency {text!r}: at most {MAX_SECONDS:g}s")
    return Delay(low, high)


def _seconds(number: str, unit: str) -> float:
    return float(number) / 1000 if unit == "ms" else float(number)


def parse_spec(text: str) -> dict[str, Delay]:
    """`crm=150ms,model=2-5s` -> {system: Delay}; an empty text is no latency."""
    delays: dict[str, Delay] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        system, sep, value = part.partition("=")
        system = system.strip().lower()
        if not sep or system not in SYSTEMS:
            raise ValueError(
                f"latency {part!r}: expected SYSTEM=DELAY with SYSTEM one of {', '.join(SYSTEMS)}"
            )
        delays[system] = parse_delay(value)
    return delays


class Latency:
    """The delays in force, switchable at run time (thread-safe)."""

    def __init__(self, delays: Mapping[str, Delay] | None = None) -> None:
        self._lock = threading.Lock()
        self._delays: dict[str, Delay] = dict(delays or {})
        self._rng = random.Random()

    def set(self, delays: Mapping[str, Delay]) -> None:
        unknown = sorted(set(delays) - set(SYSTEMS))
        if unknown:
            raise ValueError(f"unknown system(s) {', '.join(unknown)}: expected {', '.join(SYSTEMS)}")
        with self._lock:
            self._delays = dict(delays)

    def get(self, system: str) -> Delay | None:
        with self._lock:
            return self._delays.get(system)

    def seconds(self, system: str) -> float:
        """One sampled delay for a request to `system` (0 without latency)."""
        with self._lock:
            delay = self._delays.get(system)
            return delay.sample(self._rng) if delay is not None else 0.0

    def highest(self, system: str) -> float:
        delay = self.get(system)
        return delay.high_s if delay is not None else 0.0

    def describe(self) -> dict[str, str]:
        with self._lock:
            return {system: delay.describe() for system, delay in sorted(self._delays.items())}


def delayed(app: ASGIApp, latency: Latency, system: str) -> ASGIApp:
    """`app` with `system`'s latency added before each HTTP request is handled."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            seconds = latency.seconds(system)
            if seconds > 0:  # the latency itself, not a wait for a condition: nothing to poll
                await asyncio.sleep(seconds)
        await app(scope, receive, send)

    return wrapped
