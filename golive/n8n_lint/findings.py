"""What the linter reports: one :class:`Finding` per (node, rule), and the input error."""

from __future__ import annotations

from dataclasses import dataclass

PASS = "pass"
FAIL = "fail"
#: ``Finding.node`` of a finding about the workflow as a whole (e.g. a missing piece).
WORKFLOW_NODE = "(workflow)"

RULES: dict[str, str] = {
    "R1": "stage-move tools move by deal_id",
    "R2": "deal_id is resolved at the start and propagated",
    "R3": "canonical session, buffer and memory keys",
    "R4": "no identity fallbacks, and an identity gate before the buffer and the agent",
    "R5": "source is derived from the channel",
    "R6": "the IGSID comes from contact_inbox.source_id and is never used as a phone",
}

#: Evidence is an excerpt: a finding never carries a whole node or Code text.
EVIDENCE_MAX = 300


class LintInputError(ValueError):
    """The input is not readable, not JSON, or not an n8n workflow object."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


@dataclass(frozen=True)
class Finding:
    """One verdict of one rule on one node (or on the workflow, see ``WORKFLOW_NODE``)."""

    workflow: str
    node: str
    type: str
    rule: str
    verdict: str  # "pass" | "fail"
    evidence: str
    message: str
    flow: str  # the workflow's kind: "agent" (R1–R6 apply) or "other" (R1 only)

    @property
    def failed(self) -> bool:
        return self.verdict == FAIL


@dataclass(frozen=True)
class WorkflowReport:
    """The findings of one workflow, with how it was classified and why."""

    workflow: str
    flow: str
    flow_reason: str
    findings: tuple[Finding, ...]

    @property
    def failed(self) -> bool:
        return any(f.failed for f in self.findings)

    @property
    def broken_rules(self) -> list[str]:
        return sorted({f.rule for f in self.findings if f.failed})
