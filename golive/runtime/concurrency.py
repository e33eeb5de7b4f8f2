"""Scenarios of one organisation side by side (pytest-xdist workers), safely and in a good order.

Most scenarios invent their own customers and conversations, so any number of them can run at
once against one organisation. A few switch something every other scenario of the organisation
uses — the CRM webhook down (an outage), the v2 workflow off, the backfill rerun — and are tagged
`@exclusive`: such a scenario runs with no other scenario of its organisation in flight.

Across processes that is a reader-writer lock per organisation (flock on a file of the run,
`.golive/run-locks/<run>/<org>.lock`): every scenario holds it shared, an `@exclusive` one holds
it alone. The exclusive scenarios are ordered first, and the others wait (one poll at a time)
until the organisation's exclusive ones are done before taking their shared lock: otherwise a
worker that started a long agent-flow scenario would keep an exclusive one, and every worker
queued behind it, waiting. The order also puts the long scenarios (agent flow, screens) before
the short ones, so the workers finish together instead of one running the longest last.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from golive.errors import WaitTimeout
from golive.runtime.state import STATE, RunState
from golive.waiting import eventually

FOLDER = Path(".golive") / "run-locks"
EXCLUSIVE = "exclusive"
LONG_MARKS = ("needs_n8n", "ui")  # the agent's turns and a browser: the longest scenarios
# How long a scenario waits for its organisation's exclusive scenarios to finish before it takes
# its shared lock anyway (the lock still keeps them apart; this only orders them: an exclusive
# scenario whose worker crashed never says it is done).
EXCLUSIVE_PHASE_TIMEOUT_S = 120.0


def _slug(item: pytest.Item) -> str | None:
    params = getattr(item, "callspec", None)
    slug = params.params.get("organisation") if params is not None else None
    return slug if isinstance(slug, str) else None


def is_exclusive(item: pytest.Item) -> bool:
    return item.get_closest_marker(EXCLUSIVE) is not None


def _rank(item: pytest.Item) -> int:
    if is_exclusive(item):
        return 0
    return 1 if any(item.get_closest_marker(mark) for mark in LONG_MARKS) else 2


# How long each scenario took last time (pytest's cache, per scenario whatever the organisation):
# the longest start first, so the workers finish together instead of one running the longest last.
DURATIONS_KEY = "golive/scenario-seconds"
_GUESS_S = {1: 8.0, 2: 1.0}  # never measured yet: an agent turn or a browser, or anything else


def _key(nodeid: str) -> str:
    return nodeid.split("[", 1)[0]


def _seconds(item: pytest.Item, known: dict[str, float]) -> float:
    return known.get(_key(item.nodeid), _GUESS_S.get(_rank(item), 1.0))


def _first_chunks(config: pytest.Config, count: int) -> tuple[int, int]:
    """(workers, items each gets first) when pytest-xdist's load scheduling runs this session:
    it hands each worker a chunk of consecutive items to start with (at least two: a worker
    needs the next item before it runs one), then more as they finish (one at a time: see
    pytest_configure)."""
    raw = os.environ.get("PYTEST_XDIST_WORKER_COUNT") or str(getattr(config.option, "numprocesses", 0) or 0)
    workers = int(raw) if raw.isdigit() else 0
    if workers < 2 or count < 2 * workers:
        return workers, 1
    cap = getattr(config.option, "maxschedchunk", None) or count
    return workers, max(min(count // workers // 4, cap), 2)


def arrange(items: list[pytest.Item], workers: int, chunk: int, known: dict[str, float]) -> list[pytest.Item]:
    """Exclusive scenarios first; then, longest first, each worker's first chunk starting with
    one of the longest and filled with the shortest (two long ones in one chunk would run one
    after the other); then the rest, longest first."""
    exclusive = [i for i in items if is_exclusive(i)]
    others = sorted((i for i in items if not is_exclusive(i)), key=lambda i: -_seconds(i, known))
    if workers < 2:
        return exclusive + others
    order = list(exclusive)
    while len(order) % chunk and others:  # the exclusive ones fill their chunks
        order.append(others.pop())
    for _ in range(max(0, workers - len(order) // chunk)):
        if not others:
            break
        order.append(others.pop(0))
        for _ in range(chunk - 1):
            if others:
                order.append(others.pop())
    return order + others


@pytest.hookimpl(trylast=True)  # after any shuffling (pytest-randomly): a stable order keeps it
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash.get(STATE, None) is None:
        return
    known = config.cache.get(DURATIONS_KEY, {}) if config.cache is not None else {}
    items[:] = arrange(items, *_first_chunks(config, len(items)), known if isinstance(known, dict) else {})
    lanes = Lanes.of(config)
    if lanes is not None:
        lanes.pending = {
            item.nodeid: slug for item in items if is_exclusive(item) and (slug := _slug(item)) is not None
        }


class Lanes:
    """The locks and done-markers of one session's organisations."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pending: dict[str, str] = {}  # nodeid of an exclusive scenario -> its organisation

    @classmethod
    def of(cls, config: pytest.Config) -> Lanes | None:
        return config.stash.get(_LANES, None)

    def _done_marker(self, nodeid: str, slug: str) -> Path:
        return self.folder / slug / (hashlib.sha256(nodeid.encode()).hexdigest()[:16] + ".done")

    def mark_done(self, nodeid: str) -> None:
        slug = self.pending.get(nodeid)
        if slug is not None:
            marker = self._done_marker(nodeid, slug)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()

    def _exclusive_done(self, slug: str) -> bool:
        return all(self._done_marker(n, s).exists() for n, s in self.pending.items() if s == slug)

    @contextlib.contextmanager
    def hold(self, item: pytest.Item) -> Iterator[None]:
        slug = _slug(item)
        if slug is None:
            yield
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        exclusive = is_exclusive(item)
        if not exclusive and not self._exclusive_done(slug):
            with contextlib.suppress(WaitTimeout):
                eventually(
                    lambda: self._exclusive_done(slug),
                    timeout=EXCLUSIVE_PHASE_TIMEOUT_S,
                    what=f"the exclusive scenarios of {slug}",
                )
        with _locked(self.folder / f"{slug}.lock", fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH):
            yield


@contextlib.contextmanager
def _locked(path: Path, how: int) -> Iterator[IO[str]]:
    with path.open("a+", encoding="utf-8") as handle:
        fcntl.flock(handle, how)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_LANES = pytest.StashKey[Lanes]()


def lock_folder(state: RunState) -> Path:
    return state.root / FOLDER / state.run_id


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{EXCLUSIVE}: runs with no other scenario of its organisation at the same time (it switches "
        "something they use: the CRM webhook, the v2 workflow, the backfill)",
    )
    state = config.stash.get(STATE, None)
    if state is not None and state.run_dir is not None:
        config.stash[_LANES] = Lanes(lock_folder(state))
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "maxschedchunk", 0) is None:
        config.option.maxschedchunk = 1  # hand out scenarios one at a time: longest first stays true


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    lanes = Lanes.of(item.config)
    if lanes is None:
        return (yield)
    try:
        with lanes.hold(item):
            return (yield)
    finally:
        lanes.mark_done(item.nodeid)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller (or a session without workers) removes its organisations' lock files."""
    lanes = Lanes.of(session.config)
    state = session.config.stash.get(STATE, None)
    if lanes is None or state is None or state.worker:
        return
    _remember_durations(session.config, state)
    for slug in state.slugs:
        shutil.rmtree(lanes.folder / slug, ignore_errors=True)
        (lanes.folder / f"{slug}.lock").unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        lanes.folder.rmdir()  # only once empty: another organisation's session may still run


def _remember_durations(config: pytest.Config, state: RunState) -> None:
    if config.cache is None:
        return
    known = config.cache.get(DURATIONS_KEY, {})
    seconds = dict(known) if isinstance(known, dict) else {}
    for outcomes in state.outcomes.values():
        for outcome in outcomes:
            if outcome.outcome != "skipped":
                seconds[_key(outcome.nodeid)] = round(outcome.duration_s, 2)
    config.cache.set(DURATIONS_KEY, seconds)
