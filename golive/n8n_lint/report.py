"""The two output forms of a lint run: text for people, JSON for tools."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from golive.n8n_lint.findings import Finding


def format_text(findings: Sequence[Finding]) -> str:
    """Failures first (with evidence), then passes, then ``N workflow(s), M rule(s) broken``."""
    failed = [f for f in findings if f.failed]
    passed = [f for f in findings if not f.failed]
    lines: list[str] = []
    for finding in failed:
        lines.append(f"FAIL {finding.rule} [{finding.workflow}] {finding.message}")
        lines.append(f"     evidence: {finding.evidence}")
    for finding in passed:
        lines.append(f"pass {finding.rule} [{finding.workflow}] {finding.message}")
    workflows = len(dict.fromkeys(f.workflow for f in findings))
    broken = len({(f.workflow, f.rule) for f in failed})
    lines.append(f"{workflows} workflow(s), {broken} rule(s) broken")
    return "\n".join(lines)


def format_json(findings: Sequence[Finding]) -> str:
    """A JSON list of finding objects (keys in ``Finding`` field order)."""
    return json.dumps([asdict(f) for f in findings], indent=2, ensure_ascii=False)
