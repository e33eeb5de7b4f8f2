"""The monitoring window after a run: what was observed, the §6.2 thresholds applied to it, and
the report `golive monitor` leaves in ``reports/<run>/monitor/<org>--<window>.json``.

One typed definition read by everything that reads monitoring (the monitor itself, the
dossier's GO rule, the kill matrix). Pure: building and judging; reading and writing files
is limited to :meth:`MonitorReport.write` and :func:`read_reports`.

Thresholds (crm-contract §6.2, rollback triggers; a breach is a *critical* error):

* identity-resolution failures: ``error`` rows / all rows of the resolution log > 1 %
  (``ambiguous`` rows are reported separately; the backfill's own rows are not live traffic);
* stage-move failures: failed / all stage-move calls > 1 % (from n8n's executions: no CRM
  table records moves);
* failed n8n executions of the organisation's v2 workflow > 1 % (the flow that answers the
  customer and moves the deal);
* conversations without a contact or a deal after processing: reported, no threshold (§6.2
  lists them as a 72 h metric);
* webhook 5xx > 2 %: not observable from outside the CRM (its HTTP logs); said so in the report.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from golive.errors import EvidenceError
from golive.secrets import REDACTOR

GO_WINDOW_S = 30 * 60  # "no critical monitoring error for ≥ 30 min after the run" (§6.3)
PILOT_WINDOW_S = 72 * 3600  # checklist 7.4: 72 h of monitoring per activated client
IDENTITY_FAILURES_MAX = 0.01
STAGE_MOVE_FAILURES_MAX = 0.01
N8N_FAILURES_MAX = 0.01
MONITOR_DIR = "monitor"
VERDICTS = ("ok", "critical", "incomplete")
NOT_OBSERVABLE = (
    "webhook 5xx rate (> 2 % over 15 min) is not observable from here: it needs the CRM's HTTP "
    "logs or its platform's metrics"
)


@dataclass(frozen=True)
class Observation:
    """Counts over one window; None = that source was not observable (no n8n in the profile)."""

    since: str  # ISO 8601, UTC
    until: str
    resolutions: int = 0
    resolution_errors: int = 0
    ambiguous: int = 0
    conversations: int = 0
    without_contact: int = 0
    without_deal: int = 0
    n8n_executions: int | None = None
    n8n_failed: int | None = None
    stage_moves: int | None = None
    stage_moves_failed: int | None = None
    examples: tuple[str, ...] = ()  # a few failures, described (no secrets: redacted by the writer)


@dataclass(frozen=True)
class Finding:
    signal: str
    value: str
    threshold: str
    critical: bool
    message: str


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def judge(observation: Observation) -> list[Finding]:
    """Each signal of the window against its threshold (§6.2)."""
    o = observation
    findings = []
    rate = _rate(o.resolution_errors, o.resolutions)
    findings.append(
        Finding(
            "identity-resolution failures",
            f"{o.resolution_errors}/{o.resolutions} ({rate:.1%})",
            f"> {IDENTITY_FAILURES_MAX:.0%}",
            rate > IDENTITY_FAILURES_MAX,
            f"{o.resolution_errors} 'error' row(s) among {o.resolutions} identity resolutions",
        )
    )
    findings.append(
        Finding(
            "identity-resolution ambiguities",
            str(o.ambiguous),
            "reported, no threshold",
            False,
            f"{o.ambiguous} 'ambiguous' resolution(s) left for manual review",
        )
    )
    if o.stage_moves is not None and o.stage_moves_failed is not None:
        rate = _rate(o.stage_moves_failed, o.stage_moves)
        findings.append(
            Finding(
                "stage-move failures",
                f"{o.stage_moves_failed}/{o.stage_moves} ({rate:.1%})",
                f"> {STAGE_MOVE_FAILURES_MAX:.0%}",
                rate > STAGE_MOVE_FAILURES_MAX,
                f"{o.stage_moves_failed} failed stage move(s) among {o.stage_moves}",
            )
        )
    if o.n8n_executions is not None and o.n8n_failed is not None:
        rate = _rate(o.n8n_failed, o.n8n_executions)
        findings.append(
            Finding(
                "failed n8n executions",
                f"{o.n8n_failed}/{o.n8n_executions} ({rate:.1%})",
                f"> {N8N_FAILURES_MAX:.0%}",
                rate > N8N_FAILURES_MAX,
                f"{o.n8n_failed} failed execution(s) of the v2 workflow among {o.n8n_executions}",
            )
        )
    findings.append(
        Finding(
            "conversations without contact / deal",
            f"{o.without_contact} / {o.without_deal} of {o.conversations}",
            "reported, no threshold (72 h metric)",
            False,
            f"{o.without_contact} conversation(s) left without a contact and {o.without_deal} without "
            f"a deal, of {o.conversations} started in the window",
        )
    )
    return findings


@dataclass(frozen=True)
class MonitorReport:
    organisation: str
    environment: str
    run_id: str
    window_s: float  # asked for
    window_label: str  # as asked, e.g. "30m"
    started_at: str  # the window's start (the run's end, or when watching began)
    ended_at: str  # how far it was observed
    observed_s: float
    complete: bool  # observed for the whole window
    interrupted: bool
    verdict: str  # ok | critical | incomplete
    findings: tuple[Finding, ...] = ()
    observation: Observation | None = None
    notes: tuple[str, ...] = ()
    generated_at: str = ""

    @property
    def critical(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.critical)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False, default=str) + "\n"

    def write(self, run_dir: Path) -> Path:
        path = run_dir / MONITOR_DIR / f"{self.organisation}--{self.window_label}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(REDACTOR.redact(self.to_json()), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: Any, *, source: str) -> MonitorReport:
        if not isinstance(data, dict):
            raise EvidenceError(f"{source}: the monitoring report is not a JSON object")
        try:
            observation = data.get("observation")
            return cls(
                organisation=str(data["organisation"]),
                environment=str(data.get("environment") or "unknown"),
                run_id=str(data.get("run_id") or ""),
                window_s=float(data["window_s"]),
                window_label=str(data.get("window_label") or ""),
                started_at=str(data["started_at"]),
                ended_at=str(data["ended_at"]),
                observed_s=float(data["observed_s"]),
                complete=bool(data["complete"]),
                interrupted=bool(data.get("interrupted")),
                verdict=str(data["verdict"]),
                findings=tuple(Finding(**f) for f in data.get("findings") or []),
                observation=Observation(
                    **{**observation, "examples": tuple(observation.get("examples") or ())}
                )
                if isinstance(observation, dict)
                else None,
                notes=tuple(str(n) for n in data.get("notes") or []),
                generated_at=str(data.get("generated_at") or ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EvidenceError(f"{source}: the monitoring report is malformed ({exc})") from None


def read_reports(run_dir: Path, organisation: str) -> list[MonitorReport]:
    reports = []
    for path in sorted((run_dir / MONITOR_DIR).glob(f"{organisation}--*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EvidenceError(f"{path}: the monitoring report is not readable JSON ({exc})") from None
        reports.append(MonitorReport.from_dict(data, source=str(path)))
    return reports


def verdict_of(findings: list[Finding], *, complete: bool) -> str:
    if any(f.critical for f in findings):
        return "critical"  # decided, whatever is left of the window
    return "ok" if complete else "incomplete"


def describe(report: MonitorReport) -> str:
    """One line: the window, how much of it was seen, and what it showed."""
    seen = _duration(report.observed_s)
    asked = _duration(report.window_s)
    span = f"{seen} of {asked}" if not report.complete else asked
    shown = (
        "critical: " + "; ".join(f"{f.signal} {f.value} ({f.threshold})" for f in report.critical)
        if report.critical
        else ("no critical error" if report.verdict == "ok" else "no critical error so far")
    )
    return f"{span} after the run from {report.started_at} ({report.verdict}): {shown}"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class GoRule:
    """The dossier's reading of the monitoring reports of one organisation (§6.3)."""

    reports: tuple[MonitorReport, ...]
    environment: str
    reasons: tuple[tuple[str, str], ...] = field(default=())  # (code, message)
    summary: str = ""
    pilot_window_done: bool = False  # a complete ≥ 72 h window without critical error (7.4)


def go_rule(reports: list[MonitorReport], *, environment: str, organisation: str) -> GoRule:
    """GO needs a complete window of ≥ 30 min after the run without critical error. A sandbox
    cannot watch that long: a complete window of the length its profile sets is accepted, and
    the dossier says how long it was."""
    fix = (
        f"run `golive monitor --org {organisation} --window 30m` after the run, then build the evidence again"
    )
    if not reports:
        return GoRule(
            (),
            environment,
            (("monitoring_not_run", f"no monitoring window after the run: {fix}"),),
            "not run",
        )
    critical = [r for r in reports if r.verdict == "critical"]
    if critical:
        return GoRule(
            tuple(reports),
            environment,
            tuple(
                ("monitoring_critical", f"critical monitoring error after the run: {describe(r)}")
                for r in critical
            ),
            describe(critical[0]),
        )
    complete = [r for r in reports if r.complete and r.verdict == "ok"]
    longest = max(complete, key=lambda r: r.window_s, default=None)
    pilot = any(r.window_s >= PILOT_WINDOW_S for r in complete)
    if longest is None:
        partial = max(reports, key=lambda r: r.observed_s)
        return GoRule(
            tuple(reports),
            environment,
            (
                (
                    "monitoring_incomplete",
                    f"the monitoring window was not observed to its end: {describe(partial)}; {fix}",
                ),
            ),
            describe(partial),
        )
    summary = describe(longest)
    if longest.window_s >= GO_WINDOW_S:
        return GoRule(tuple(reports), environment, (), summary, pilot)
    if environment == "sandbox":
        note = (
            f"{summary} — a sandbox short window (the sandbox lives only as long as its run); "
            f"the runbook's {GO_WINDOW_S // 60} min apply to a real staging"
        )
        return GoRule(tuple(reports), environment, (), note, pilot)
    return GoRule(
        tuple(reports),
        environment,
        (
            (
                "monitoring_window_short",
                f"the monitoring window was {_duration(longest.window_s)}, GO needs {GO_WINDOW_S // 60} min "
                f"without critical error after the run: {fix}",
            ),
        ),
        summary,
        pilot,
    )
