"""Scenarios of one organisation side by side: the order they are handed out in, and the lock that
keeps an @exclusive scenario alone with its organisation."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from golive.runtime.concurrency import Lanes, arrange


@dataclass
class FakeItem:
    nodeid: str
    marks: tuple[str, ...] = ()
    callspec: Any = None
    params: dict[str, str] = field(default_factory=dict)

    def get_closest_marker(self, name: str) -> object | None:
        return name if name in self.marks else None


@dataclass
class FakeCallspec:
    params: dict[str, str]


def _item(name: str, *marks: str, org: str = "acme") -> FakeItem:
    return FakeItem(f"features/test_rollout.py::{name}[{org}]", marks, FakeCallspec({"organisation": org}))


def _names(items: list[Any]) -> list[str]:
    return [i.nodeid.split("::")[1].split("[")[0] for i in items]


ITEMS = [
    _item("short_a"),
    _item("agent_a", "needs_n8n"),
    _item("outage", "exclusive"),
    _item("short_b"),
    _item("agent_b", "needs_n8n"),
    _item("screen", "ui"),
    _item("short_c"),
    _item("workflow_off", "exclusive", "needs_n8n"),
    _item("short_d"),
    _item("short_e"),
]


def test_one_at_a_time_exclusive_first_then_longest_first() -> None:
    known = {"features/test_rollout.py::agent_b": 20.0, "features/test_rollout.py::short_c": 3.0}
    order = _names(arrange(list(ITEMS), 0, 1, known))  # type: ignore[arg-type]
    assert order[:2] == ["outage", "workflow_off"]
    assert order[2] == "agent_b"  # measured last time: the longest
    assert order.index("agent_a") < order.index("short_c") < order.index("short_a")
    assert sorted(order) == sorted(_names(ITEMS))


def test_each_worker_starts_with_one_long_scenario_never_two() -> None:
    order = arrange(list(ITEMS), 3, 2, {})  # type: ignore[arg-type]
    chunks = [order[i : i + 2] for i in range(0, 6, 2)]  # what pytest-xdist hands each worker first
    assert _names(chunks[0]) == ["outage", "workflow_off"]  # the exclusive ones, together
    for chunk in chunks[1:]:
        longs = [i for i in chunk if i.get_closest_marker("needs_n8n") or i.get_closest_marker("ui")]
        assert len(longs) == 1, _names(chunk)
    assert sorted(_names(order)) == sorted(_names(ITEMS))


def test_an_exclusive_scenario_runs_alone_and_others_wait_for_the_exclusive_ones(tmp_path: Path) -> None:
    lanes = Lanes(tmp_path / "locks")
    outage, other = _item("outage", "exclusive"), _item("short_a")
    lanes.pending = {outage.nodeid: "acme"}
    events: list[str] = []
    inside = threading.Event()

    def exclusive() -> None:
        with lanes.hold(outage):  # type: ignore[arg-type]
            events.append("exclusive in")
            inside.set()
            time.sleep(0.3)  # stands in for the scenario's own work (time held, not a wait to poll)
            events.append("exclusive out")
        lanes.mark_done(outage.nodeid)

    def shared() -> None:
        inside.wait(5)
        with lanes.hold(other):  # type: ignore[arg-type]
            events.append("shared in")

    threads = [threading.Thread(target=exclusive), threading.Thread(target=shared)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert events == ["exclusive in", "exclusive out", "shared in"]


def test_scenarios_of_other_organisations_do_not_wait(tmp_path: Path) -> None:
    lanes = Lanes(tmp_path / "locks")
    outage, elsewhere = _item("outage", "exclusive"), _item("short_a", org="globex")
    lanes.pending = {outage.nodeid: "acme"}
    with lanes.hold(outage):  # type: ignore[arg-type]
        began = time.monotonic()
        with lanes.hold(elsewhere):  # type: ignore[arg-type]
            pass
        assert time.monotonic() - began < 1.0


@pytest.mark.parametrize("count", [1, 3])
def test_shared_holders_run_together(tmp_path: Path, count: int) -> None:
    lanes = Lanes(tmp_path / "locks")
    items = [_item(f"short_{n}") for n in range(count)]
    together = threading.Barrier(count, timeout=5)

    def run(item: FakeItem) -> None:
        with lanes.hold(item):  # type: ignore[arg-type]
            together.wait()  # would time out if the holders were serialised

    threads = [threading.Thread(target=run, args=(i,)) for i in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not together.broken
