"""The monitoring window: thresholds (crm-contract §6.2) and the watch loop (progress, early stop
on a critical error, Ctrl-C), with the observations and the clock faked."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from golive.config import parse_duration
from golive.evidence.monitoring import Observation, judge, verdict_of
from golive.monitoring import watch as watch_module
from golive.monitoring.watch import Watched, default_interval, watch

START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def observation(**counts: Any) -> Observation:
    return Observation(since=START.isoformat(), until=START.isoformat(), **counts)


def critical_signals(o: Observation) -> list[str]:
    return [f.signal for f in judge(o) if f.critical]


def test_one_identity_error_in_a_hundred_is_within_the_threshold_two_are_not() -> None:
    assert critical_signals(observation(resolutions=100, resolution_errors=1)) == []
    assert critical_signals(observation(resolutions=100, resolution_errors=2)) == [
        "identity-resolution failures"
    ]


def test_ambiguities_and_conversations_without_contact_are_reported_never_critical() -> None:
    o = observation(resolutions=10, ambiguous=10, conversations=5, without_contact=5, without_deal=5)

    assert critical_signals(o) == []
    shown = {f.signal: f.value for f in judge(o)}
    assert shown["identity-resolution ambiguities"] == "10"
    assert shown["conversations without contact / deal"] == "5 / 5 of 5"


def test_failed_stage_moves_and_executions_are_critical_above_one_percent() -> None:
    o = observation(n8n_executions=50, n8n_failed=1, stage_moves=20, stage_moves_failed=1)

    assert critical_signals(o) == ["stage-move failures", "failed n8n executions"]


def test_without_n8n_its_signals_are_absent_not_passed() -> None:
    signals = {f.signal for f in judge(observation())}

    assert "stage-move failures" not in signals and "failed n8n executions" not in signals


def test_a_critical_error_decides_before_the_window_ends() -> None:
    findings = judge(observation(resolutions=1, resolution_errors=1))

    assert verdict_of(findings, complete=False) == "critical"
    assert verdict_of(judge(observation()), complete=False) == "incomplete"
    assert verdict_of(judge(observation()), complete=True) == "ok"


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("72h", 259200), ("1h30m", 5400), ("10s", 10)])
def test_windows_are_written_as_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_the_interval_between_looks_is_bounded() -> None:
    assert (
        default_interval(10) == 1.0 and default_interval(72 * 3600) == 60.0 and default_interval(300) == 30.0
    )


class FakeClock:
    """Time moves only when the watcher waits; `stop.wait` is the watcher's only way to wait."""

    def __init__(self) -> None:
        self.now = START
        self.waits: list[float] = []

    def __call__(self) -> datetime:
        return self.now


class FakeStop(threading.Event):
    def __init__(self, clock: FakeClock, interrupt_after: int | None = None) -> None:
        super().__init__()
        self.clock = clock
        self.interrupt_after = interrupt_after

    def wait(self, timeout: float | None = None) -> bool:
        self.clock.waits.append(timeout or 0.0)
        if self.interrupt_after is not None and len(self.clock.waits) >= self.interrupt_after:
            return True  # as if Ctrl-C reached the CLI
        self.clock.now += timedelta(seconds=timeout or 0.0)
        return False


def run_watch(
    monkeypatch: pytest.MonkeyPatch, errors_from_s: float | None = None, interrupt_after: int | None = None
) -> tuple[Any, FakeClock, list[str]]:
    clock = FakeClock()

    def fake_observe(sql: Any, n8n: Any, workflow: Any, since: datetime, until: datetime) -> Observation:
        elapsed = (until - since).total_seconds()
        errors = 1 if errors_from_s is not None and elapsed >= errors_from_s else 0
        return Observation(since.isoformat(), until.isoformat(), resolutions=10, resolution_errors=errors)

    monkeypatch.setattr(watch_module, "observe", fake_observe)
    org = type("Org", (), {"slug": "acme", "environment": "staging"})()
    lines: list[str] = []
    report = watch(
        Watched(org, sql=None, n8n=None),  # type: ignore[arg-type]
        run_id="run",
        window_s=1800,
        window_label="30m",
        start=START,
        say=lines.append,
        now=clock,
        stop=FakeStop(clock, interrupt_after),
    )
    return report, clock, lines


def test_a_quiet_window_is_watched_to_its_end_and_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    report, clock, lines = run_watch(monkeypatch)

    assert report.verdict == "ok" and report.complete and report.observed_s == 1800
    assert clock.now == START + timedelta(minutes=30)
    assert len(lines) == 11  # a look a minute, a line when something changes or every 3 min
    assert lines[-1].startswith("[0:30:00/0:30:00] acme:")
    assert "not observable" in " ".join(report.notes) and "n8n is not in the profile" in " ".join(
        report.notes
    )


def test_errors_after_the_run_stop_the_watch_as_critical(monkeypatch: pytest.MonkeyPatch) -> None:
    report, _clock, lines = run_watch(monkeypatch, errors_from_s=600)

    assert report.verdict == "critical" and not report.complete
    assert report.observed_s == 600 and "CRITICAL" in lines[-1]


def test_an_interrupted_watch_leaves_an_incomplete_report(monkeypatch: pytest.MonkeyPatch) -> None:
    report, _, _ = run_watch(monkeypatch, interrupt_after=3)

    assert report.verdict == "incomplete" and report.interrupted and not report.complete
    assert report.observed_s == 120 and "interrupted" in " ".join(report.notes)


def test_ctrl_c_ends_every_watcher_and_each_leaves_its_report(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import _thread

    from golive.commands import monitor as command
    from golive.evidence.monitoring import MonitorReport

    run_dir = tmp_path / "reports" / "20261130T120000Z-abcd"
    (run_dir / "summary").mkdir(parents=True)
    slugs = ["acme", "globex"]
    for slug in slugs:
        (run_dir / "summary" / f"{slug}.json").write_text("{}")
    started = {slug: threading.Event() for slug in slugs}

    def fake_run_monitor(*, organisation: str, stop: threading.Event, **_: Any) -> tuple[MonitorReport, Path]:
        started[organisation].set()
        stopped = stop.wait(timeout=30)  # a watcher ends only when told to
        report = MonitorReport(
            organisation, "staging", "run", 3600, "1h", "s", "e", 1.0, False, stopped, "incomplete"
        )
        return report, run_dir

    def press_ctrl_c_once_both_watch() -> None:
        for event in started.values():
            event.wait(timeout=30)
        _thread.interrupt_main()

    monkeypatch.setattr(command, "run_monitor", fake_run_monitor)
    threading.Thread(target=press_ctrl_c_once_both_watch, daemon=True).start()
    lines: list[str] = []

    code = command.watch_organisations(
        root=tmp_path, organisations=slugs, window="1h", run=None, interval=None, say=lines.append
    )

    assert code == 130
    assert [line.split()[:2] for line in lines[:2]] == [["INCOMPLETE", "acme:"], ["INCOMPLETE", "globex:"]]
