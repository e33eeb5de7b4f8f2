"""What every rule works with: the workflow, and the findings it adds to."""

from __future__ import annotations

from golive.n8n_lint.findings import EVIDENCE_MAX, FAIL, PASS, WORKFLOW_NODE, Finding
from golive.n8n_lint.flows import Flow
from golive.n8n_lint.values import excerpt, short_type
from golive.n8n_lint.workflow import Workflow

#: Parts of a field name that make it a person's name, not an identity (``ClienteNome``).
NAME_TOKENS = ("nome", "name")


class Check:
    """One lint run over one workflow: the rules read ``wf`` and call :meth:`add`."""

    def __init__(self, wf: Workflow, flow: Flow) -> None:
        self.wf = wf
        self.flow = flow
        self.findings: list[Finding] = []

    def add(self, rule: str, node: str | None, ok: bool, evidence: str, detail: str) -> None:
        """Record a verdict on ``node`` (``None``: on the workflow as a whole)."""
        wf = self.wf
        if node is None:
            node_name, node_type = WORKFLOW_NODE, "workflow"
            subject = f'workflow "{wf.name}"'
        else:
            node_name, node_type = node, wf.type_of(node)
            subject = f'node "{node}" ({short_type(node_type)})'
        self.findings.append(
            Finding(
                workflow=wf.label,
                node=node_name,
                type=node_type,
                rule=rule,
                verdict=PASS if ok else FAIL,
                evidence=excerpt(evidence, EVIDENCE_MAX),
                message=f"{subject} {'meets' if ok else 'breaks'} {rule}: {detail}",
                flow=self.flow.kind,
            )
        )
