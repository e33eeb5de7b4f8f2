"""The two output forms of a lint run: text for people, JSON for tools.

Both can show failures only (``failures_only``); the exit code of the CLI does not depend on it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from golive.n8n_lint.findings import WorkflowReport
from golive.n8n_lint.flows import AGENT_FLOW


def _verdict_line(report: WorkflowReport) -> str:
    scope = "agent flow, rules R1–R6" if report.flow == AGENT_FLOW else "other flow, rule R1 only"
    outcome = f"breaks {', '.join(report.broken_rules)}" if report.failed else "every rule holds"
    verdict = "FAIL" if report.failed else "pass"
    return f"workflow {verdict} [{report.workflow}] {scope}: {outcome} — {report.flow_reason}"


def format_text(reports: Sequence[WorkflowReport], *, failures_only: bool = False) -> str:
    """Failures (with evidence), then passes, then one verdict line per workflow, then the total.

    With ``failures_only`` the passes and the verdicts of passing workflows are left out; the
    last line still counts every workflow checked.
    """
    findings = [f for report in reports for f in report.findings]
    failed = [f for f in findings if f.failed]
    lines: list[str] = []
    for finding in failed:
        lines.append(f"FAIL {finding.rule} [{finding.workflow}] {finding.message}")
        lines.append(f"     evidence: {finding.evidence}")
    if not failures_only:
        lines.extend(f"pass {f.rule} [{f.workflow}] {f.message}" for f in findings if not f.failed)
    lines.extend(_verdict_line(r) for r in reports if r.failed or not failures_only)
    broken = len({(f.workflow, f.rule) for f in failed})
    lines.append(f"{len(reports)} workflow(s), {broken} rule(s) broken")
    return "\n".join(lines)


def format_json(reports: Sequence[WorkflowReport], *, failures_only: bool = False) -> str:
    """A JSON list of finding objects (keys in ``Finding`` field order; ``flow`` = the kind)."""
    findings = [f for report in reports for f in report.findings if f.failed or not failures_only]
    return json.dumps([asdict(f) for f in findings], indent=2, ensure_ascii=False)
