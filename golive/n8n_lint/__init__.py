"""Static "template v2" conformance check of exported n8n agent workflows.

The rules R1-R6 and where they live in an exported workflow JSON are described in
``shared/reference/n8n-and-tooling.md`` §2.  The checker never executes anything: it reads
node parameters, follows ``$('Node').item.json.X`` / ``$json.X`` references through Set and
Code nodes (:mod:`.workflow`, :mod:`.javascript`), and judges the resulting "derivation" text
of each key, identity, source or deal id (:mod:`.rules`, one module per rule).

Each workflow is first classified (:mod:`.flows`): the agent rules R2–R6 apply only to the
flow where a Chatwoot webhook feeds an AI Agent; R1 applies to every flow that moves stages.

Public API: :class:`Finding`, :class:`WorkflowReport`, :class:`LintInputError`,
:func:`check_workflow` / :func:`lint_workflow`, :func:`check_paths` / :func:`lint_paths`,
:func:`format_text`, :func:`format_json` and :func:`run`.
"""

from __future__ import annotations

from golive.n8n_lint.cli import run
from golive.n8n_lint.findings import (
    FAIL,
    PASS,
    RULES,
    WORKFLOW_NODE,
    Finding,
    LintInputError,
    WorkflowReport,
)
from golive.n8n_lint.flows import AGENT_FLOW, OTHER_FLOW
from golive.n8n_lint.loading import check_paths, lint_paths
from golive.n8n_lint.report import format_json, format_text
from golive.n8n_lint.rules import check_workflow, lint_workflow

__all__ = [
    "AGENT_FLOW",
    "FAIL",
    "OTHER_FLOW",
    "PASS",
    "RULES",
    "WORKFLOW_NODE",
    "Finding",
    "LintInputError",
    "WorkflowReport",
    "check_paths",
    "check_workflow",
    "format_json",
    "format_text",
    "lint_paths",
    "lint_workflow",
    "run",
]
