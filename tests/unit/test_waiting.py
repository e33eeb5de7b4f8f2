"""`eventually`: poll with a deadline. A fake clock and pause make every case instant."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import pytest

from golive.errors import GoliveError, WaitTimeout
from golive.waiting import eventually


@dataclass
class FakeTime:
    """A clock that only moves when the code under test pauses (or a probe takes time)."""

    now: float = 1000.0
    pauses: list[float] = field(default_factory=list)
    pause_started_at: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def pause(self, seconds: float) -> None:
        assert seconds > 0, f"a pause of {seconds}s: eventually would busy-loop"
        assert len(self.pauses) < 10_000, "eventually never gives up"
        self.pause_started_at.append(self.now)
        self.pauses.append(seconds)
        self.now += seconds


def probe_returning(values: Iterable[Any], time: FakeTime | None = None, cost: float = 0.0):
    """A probe that returns `values` in turn (then the last one), costing `cost` seconds each."""
    items = list(values)
    calls: list[int] = []

    def probe() -> Any:
        calls.append(1)
        if time is not None:
            time.now += cost
        return items[min(len(calls), len(items)) - 1]

    probe.calls = calls  # type: ignore[attr-defined]
    return probe


def wait(probe: Callable[[], Any], time: FakeTime, **kwargs: Any) -> Any:
    kwargs.setdefault("what", "the link row")
    return eventually(probe, clock=time.clock, pause=time.pause, **kwargs)


def test_returns_at_once_when_the_condition_already_holds() -> None:
    time = FakeTime()
    probe = probe_returning(["row"])

    assert wait(probe, time, timeout=30) == "row"
    assert len(probe.calls) == 1
    assert time.pauses == []


def test_returns_the_first_value_that_satisfies_the_condition() -> None:
    time = FakeTime()
    probe = probe_returning([None, [], ["row-1"], ["row-1", "row-2"]])

    assert wait(probe, time, timeout=30) == ["row-1"]
    assert len(probe.calls) == 3
    assert len(time.pauses) == 2


def test_a_custom_condition_decides_what_holds() -> None:
    time = FakeTime()
    probe = probe_returning([1, 2, 3, 4, 5])

    assert wait(probe, time, until=lambda n: n >= 4, timeout=30) == 4
    assert len(probe.calls) == 4


def test_a_falsy_value_can_satisfy_a_custom_condition() -> None:
    time = FakeTime()
    probe = probe_returning([None, 0])

    assert wait(probe, time, until=lambda v: v == 0, timeout=30) == 0


def test_the_first_probe_runs_even_with_a_zero_timeout() -> None:
    time = FakeTime()
    probe = probe_returning(["ready"])

    assert wait(probe, time, timeout=0) == "ready"
    assert len(probe.calls) == 1


def test_a_zero_timeout_fails_after_one_probe_without_pausing() -> None:
    time = FakeTime()
    probe = probe_returning(["not yet"])

    with pytest.raises(WaitTimeout) as caught:
        wait(probe, time, until=lambda v: v == "done", timeout=0)

    assert len(probe.calls) == 1
    assert time.pauses == []
    assert caught.value.last_value == "not yet"


def test_the_timeout_error_carries_the_last_value_and_the_elapsed_time() -> None:
    time = FakeTime()
    probe = probe_returning([{"status": "pending"}, {"status": "open"}])

    with pytest.raises(WaitTimeout) as caught:
        wait(probe, time, until=lambda v: v["status"] == "resolved", timeout=2.0, what="the deal")

    error = caught.value
    assert error.what == "the deal"
    assert error.last_value == {"status": "open"}
    assert error.elapsed == pytest.approx(2.0)
    assert error.last_error == ""
    message = str(error)
    assert "the deal" in message
    assert "{'status': 'open'}" in message
    assert "2.0s" in message
    assert "last error" not in message


def test_the_timeout_error_is_an_assertion_error_and_a_golive_error() -> None:
    time = FakeTime()

    with pytest.raises(WaitTimeout) as caught:
        wait(probe_returning([None]), time, timeout=0.1)

    assert isinstance(caught.value, AssertionError)
    assert isinstance(caught.value, GoliveError)


def test_swallowed_errors_are_retried_and_the_last_one_is_reported() -> None:
    time = FakeTime()
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        raise ConnectionError(f"refused #{len(calls)}")

    with pytest.raises(WaitTimeout) as caught:
        wait(flaky, time, timeout=1.0, retry_on=(ConnectionError,))

    assert len(calls) > 1
    assert caught.value.last_error == f"ConnectionError: refused #{len(calls)}"
    assert caught.value.last_value is None
    assert f"last error: ConnectionError: refused #{len(calls)}" in str(caught.value)


def test_a_swallowed_error_then_a_value_returns_the_value() -> None:
    time = FakeTime()
    outcomes: list[Any] = [TimeoutError("slow"), TimeoutError("slow"), "row"]

    def probe() -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert wait(probe, time, timeout=5, retry_on=(TimeoutError,)) == "row"
    assert outcomes == []


def test_the_last_value_survives_a_later_swallowed_error() -> None:
    time = FakeTime()
    outcomes: list[Any] = ["partial"]

    def probe() -> Any:
        if outcomes:
            return outcomes.pop(0)
        raise TimeoutError("gone")

    with pytest.raises(WaitTimeout) as caught:
        wait(probe, time, until=lambda v: v == "full", timeout=1, retry_on=(TimeoutError,))

    assert caught.value.last_value == "partial"
    assert caught.value.last_error == "TimeoutError: gone"


def test_errors_not_listed_in_retry_on_propagate_at_once() -> None:
    time = FakeTime()

    def broken() -> None:
        raise KeyError("organization_id")

    with pytest.raises(KeyError):
        wait(broken, time, timeout=30, retry_on=(ConnectionError,))
    assert time.pauses == []


def test_the_poll_interval_starts_small_grows_and_is_capped() -> None:
    time = FakeTime()
    probe = probe_returning([False])

    with pytest.raises(WaitTimeout):
        wait(probe, time, timeout=60)

    pauses = time.pauses
    assert pauses[0] <= 0.05  # a fast target is seen within milliseconds
    cap = max(pauses)
    assert 0.1 <= cap <= 1.0  # a slow one is polled a few times a second, not hammered
    first_capped = pauses.index(cap)
    growing = pauses[: first_capped + 1]
    assert all(later > earlier for earlier, later in pairwise(growing))
    assert len(growing) >= 3
    # after reaching the cap, it stays there (except the last pause, trimmed to the deadline)
    assert all(p == pytest.approx(cap) for p in pauses[first_capped:-1])
    assert len(probe.calls) <= 60 / cap + 30  # 60 s of polling: a few probes a second, not a busy loop


def test_it_never_pauses_past_the_deadline() -> None:
    time = FakeTime()
    start = time.now
    probe = probe_returning([False], time, cost=0.07)

    with pytest.raises(WaitTimeout) as caught:
        wait(probe, time, timeout=1.3)

    deadline = start + 1.3
    for began, length in zip(time.pause_started_at, time.pauses, strict=True):
        assert began + length <= deadline + 1e-9
    assert caught.value.elapsed >= 1.3
    assert caught.value.elapsed == pytest.approx(time.now - start)


def test_the_last_probe_runs_at_the_deadline_not_before() -> None:
    time = FakeTime()
    start = time.now
    probed_at: list[float] = []

    def probe() -> bool:
        probed_at.append(time.now)
        return False

    with pytest.raises(WaitTimeout):
        wait(probe, time, timeout=0.75)

    assert probed_at[-1] == pytest.approx(start + 0.75)
    assert sum(time.pauses) == pytest.approx(0.75)


def test_a_condition_met_just_before_the_deadline_is_seen() -> None:
    time = FakeTime()
    start = time.now

    def probe() -> bool:
        return time.now - start >= 0.74

    assert wait(probe, time, timeout=0.75) is True


def test_it_uses_no_real_time_with_the_injected_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_: Any) -> None:
        raise AssertionError("eventually used the real clock or sleep")

    monkeypatch.setattr("time.sleep", forbidden)
    monkeypatch.setattr("time.monotonic", forbidden)
    time = FakeTime()

    with pytest.raises(WaitTimeout):
        wait(probe_returning([None]), time, timeout=3)


def test_a_slow_probe_eats_into_the_pause_so_the_poll_period_stays_the_interval() -> None:
    """Against a target that takes 150 ms to answer, probes still start one interval apart."""
    time = FakeTime()
    started: list[float] = []

    def probe() -> bool:
        started.append(time.now)
        time.now += 0.15
        return False

    with pytest.raises(WaitTimeout):
        wait(probe, time, timeout=10)

    periods = [later - earlier for earlier, later in pairwise(started)]
    cap = max(periods[:-1])
    assert cap <= 0.3  # the period, not the period plus the probe's 150 ms
    assert all(p >= 0.15 for p in periods)  # a probe is never started before the last one ended
    assert all(p > 0 for p in time.pauses)  # a probe slower than the period gets a breath, no busy loop


def test_a_condition_that_becomes_true_is_seen_within_one_poll() -> None:
    """However long the wait already lasted, the condition is seen at most one period (plus the
    probe) after it became true."""
    for becomes_true_at in (0.05, 0.7, 3.3, 9.9):
        time = FakeTime()
        start = time.now

        def probe(clock: FakeTime = time, start: float = start, at: float = becomes_true_at) -> bool:
            clock.now += 0.15  # a slow target: 150 ms per probe
            return clock.now - start >= at

        wait(probe, time, timeout=30)
        late = (time.now - start) - becomes_true_at
        assert late <= 0.25 + 0.15 + 1e-9, f"seen {late:.3f}s after it became true (at {becomes_true_at}s)"
