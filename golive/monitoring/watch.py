"""Watch an organisation over a window: look every interval, print progress, stop early on a
critical error (the verdict is decided), and leave a report whatever happens (Ctrl-C included).

Watching a window is waiting for time to pass, by design: each look is a poll, the window's
end is the deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from golive.clients.n8n import N8nClient, Workflow
from golive.clients.sql import SqlVerifier
from golive.evidence.monitoring import NOT_OBSERVABLE, MonitorReport, Observation, judge, verdict_of
from golive.monitoring.observe import observe
from golive.organisation import Organisation
from golive.scenario.agent_flow import v2_workflow

MIN_INTERVAL_S = 1.0
MAX_INTERVAL_S = 60.0
MAX_QUIET_S = 900.0  # a progress line at least every 15 min, even when nothing changes


@dataclass(frozen=True)
class Watched:
    """What the monitor looks at for one organisation."""

    organisation: Organisation
    sql: SqlVerifier
    n8n: N8nClient | None


def default_interval(window_s: float) -> float:
    return max(MIN_INTERVAL_S, min(MAX_INTERVAL_S, window_s / 10))


def _workflow(target: Watched, notes: list[str]) -> Workflow | None:
    if target.n8n is None:
        notes.append("n8n is not in the profile: executions and stage moves were not observed")
        return None
    try:
        return v2_workflow(target.n8n, target.organisation)
    except AssertionError as exc:
        notes.append(f"n8n executions not observed: {exc}")
        return None


def progress_line(org: str, elapsed: timedelta, window: timedelta, o: Observation, verdict: str) -> str:
    def clock(span: timedelta) -> str:
        total = int(span.total_seconds())
        return f"{total // 3600:d}:{total % 3600 // 60:02d}:{total % 60:02d}"

    n8n = (
        f", n8n failed {o.n8n_failed}/{o.n8n_executions}, "
        f"stage moves failed {o.stage_moves_failed}/{o.stage_moves}"
        if o.n8n_executions is not None
        else ""
    )
    state = {"incomplete": "no critical error so far", "ok": "window complete, no critical error"}.get(
        verdict, "CRITICAL"
    )
    return (
        f"[{clock(elapsed)}/{clock(window)}] {org}: identity errors {o.resolution_errors}/{o.resolutions}, "
        f"ambiguous {o.ambiguous}{n8n}, conversations without contact {o.without_contact}/{o.conversations}"
        f" — {state}"
    )


def watch(
    target: Watched,
    *,
    run_id: str,
    window_s: float,
    window_label: str,
    start: datetime,
    interval_s: float | None = None,
    say: Callable[[str], None] = print,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    stop: threading.Event | None = None,
) -> MonitorReport:
    """Look every `interval_s` until the window's end or a critical error. Ctrl-C, or `stop` set
    by another thread (the CLI watching several organisations), ends it with what was seen."""
    stopping = stop or threading.Event()
    org = target.organisation
    window = timedelta(seconds=window_s)
    end = start + window
    every = interval_s or default_interval(window_s)
    notes = [NOT_OBSERVABLE]
    workflow = _workflow(target, notes)
    interrupted = False
    current = now()
    observation = Observation(since=start.isoformat(), until=start.isoformat())
    verdict = "incomplete"
    findings = judge(observation)
    quiet = min(MAX_QUIET_S, max(every, window_s / 10))
    last_said: tuple[object, ...] | None = None
    said_at = current
    try:
        while True:
            current = now()
            until = max(start, min(current, end))
            observation = observe(target.sql, target.n8n, workflow, start, until)
            findings = judge(observation)
            verdict = verdict_of(findings, complete=current >= end)
            counts = (*(f.value for f in findings), verdict)
            if counts != last_said or (current - said_at).total_seconds() >= quiet:
                say(progress_line(org.slug, until - start, window, observation, verdict))
                last_said, said_at = counts, current
            if verdict != "incomplete":
                break
            if stopping.wait(max(0.0, min(every, (end - current).total_seconds()))):
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        interrupted = True
        notes.append("interrupted (Ctrl-C) before the window's end: the report covers what was observed")
    until = max(start, min(current, end))
    return MonitorReport(
        organisation=org.slug,
        environment=org.environment,
        run_id=run_id,
        window_s=window_s,
        window_label=window_label,
        started_at=start.isoformat(timespec="seconds"),
        ended_at=until.isoformat(timespec="seconds"),
        observed_s=round((until - start).total_seconds(), 1),
        complete=current >= end and not interrupted,
        interrupted=interrupted,
        verdict=verdict,
        findings=tuple(findings),
        observation=observation,
        notes=tuple(notes),
        generated_at=now().isoformat(timespec="seconds"),
    )
