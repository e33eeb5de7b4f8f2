"""What a benchmark costs the machine: CPU seconds and peak memory of the process trees it runs.

Read from /proc (Linux), sampled twice a second in a thread. Memory: the sum of the resident
memory of every process of the trees at each sample; the figure is its peak. CPU: for the trees
that live through the measurement (the sandbox with its n8n and Redis; PostgreSQL, whose server
detaches itself, is its own tree) the growth of the sum of user + system time of their processes,
their reaped children's included; for the command measured, the exact figure its parent gets
when it ends (os.wait4: it and every child it reaped).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
PROC = Path("/proc")


def children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in (PROC / str(pid) / "task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(c) for c in (task / "children").read_text().split()]
    return found


def tree(root: int) -> list[int]:
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo += children(pid)
    return pids


def _name(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return "?"


def _stat(pid: int) -> tuple[float, int] | None:
    """(CPU seconds including reaped children, resident bytes) of one process."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + cutime + cstime) / _TICK, int(fields[21]) * _PAGE


def postgres_root(port: int) -> int | None:
    """The PostgreSQL server listening on `port` (pg_ctl detaches it from whoever started it)."""
    wanted = f"-p\0{port}\0".encode()
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                line = (entry / "cmdline").read_bytes()
                if line.startswith(b"/") and b"postgres" in line.split(b"\0")[0] and wanted in line:
                    return int(entry.name)
    return None


@dataclass
class Meter:
    """Samples the trees of `lasting` (and of `passing()`, for memory) until stopped."""

    lasting: Sequence[int]
    passing: Callable[[], list[int]] = list
    interval_s: float = 0.5
    peak_bytes: int = 0
    wall_s: float = 0.0
    _first: dict[str, float] | None = None
    _last: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def cpu_s(self) -> float:
        """CPU seconds the lasting trees used since `start`."""
        return sum(self.cpu_by_name.values())

    @property
    def cpu_by_name(self) -> dict[str, float]:
        """The same, by process name (python: the sandbox's doubles; node: n8n; postgres…)."""
        first = self._first or {}
        return {name: seconds - first.get(name, 0.0) for name, seconds in self._last.items()}

    def sample(self) -> None:
        cpu: dict[str, float] = {}
        rss = 0
        for root in [*self.lasting, *self.passing()]:
            for pid in tree(root):
                stat = _stat(pid)
                if stat is not None:
                    rss += stat[1]
                    if root in self.lasting:
                        name = _name(pid)
                        cpu[name] = cpu.get(name, 0.0) + stat[0]
        self.peak_bytes = max(self.peak_bytes, rss)
        for name, seconds in cpu.items():
            self._last[name] = max(self._last.get(name, 0.0), seconds)
        if self._first is None:
            self._first = cpu

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def start(self) -> None:
        self.sample()
        self._thread = threading.Thread(target=self._run, name="bench-meter", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.sample()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


@dataclass(frozen=True)
class Measured:
    exit_code: int
    wall_s: float
    cpu_s: float  # the command's tree and the lasting trees
    peak_bytes: int
    cpu_by_part: dict[str, float] = field(default_factory=dict)  # "command" and the lasting processes


def measure(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], log: Path, lasting: Sequence[int]
) -> Measured:
    """Run `argv` to its end (output in `log`) and measure it with the `lasting` trees."""
    with log.open("wb") as out:
        process = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        meter = Meter(lasting, lambda: [process.pid])
        meter.start()
        started = time.monotonic()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        meter.stop()
    own = usage.ru_utime + usage.ru_stime
    parts = {"command": round(own, 1), **{k: round(v, 1) for k, v in meter.cpu_by_name.items() if v >= 0.05}}
    return Measured(process.returncode, wall, own + meter.cpu_s, meter.peak_bytes, parts)
