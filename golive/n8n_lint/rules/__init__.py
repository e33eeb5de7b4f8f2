"""The template v2 rules R1–R6, one module each, run in order by :func:`check_workflow`.

R1 applies to every workflow that moves deal stages; R2–R6 describe the inbound-message
agent flow and apply only to a workflow :func:`~golive.n8n_lint.flows.classify` calls one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from golive.n8n_lint.findings import Finding, LintInputError, WorkflowReport
from golive.n8n_lint.flows import classify
from golive.n8n_lint.rules.context import Check
from golive.n8n_lint.rules.deal_id import deal_id_resolved_first
from golive.n8n_lint.rules.identity_fallbacks import no_identity_fallbacks
from golive.n8n_lint.rules.igsid import igsid_from_source_id
from golive.n8n_lint.rules.session_keys import canonical_keys, key_expressions
from golive.n8n_lint.rules.source import source_from_channel
from golive.n8n_lint.rules.stage_move import stage_move_nodes, stage_moves_by_deal_id
from golive.n8n_lint.workflow import Workflow

__all__ = ["check_workflow", "lint_workflow"]


def check_workflow(data: Mapping[str, Any], *, source: str) -> WorkflowReport:
    """Classify one exported workflow object and check the rules that apply to it.

    Raises :class:`LintInputError` when ``data`` is not a workflow object.
    """
    if not isinstance(data, Mapping):
        raise LintInputError(source, "not an n8n workflow (the JSON top level is not an object)")
    wf = Workflow(data, source)
    check = Check(wf, classify(wf))
    stage_moves = stage_move_nodes(wf)
    stage_moves_by_deal_id(check, stage_moves)
    if check.flow.is_agent:
        deal_id_resolved_first(check, stage_moves)
        keys = key_expressions(wf)
        canonical_keys(check, keys)
        no_identity_fallbacks(check, keys)
        source_from_channel(check)
        igsid_from_source_id(check)
    return WorkflowReport(wf.label, check.flow.kind, check.flow.reason, tuple(check.findings))


def lint_workflow(data: Mapping[str, Any], *, source: str) -> list[Finding]:
    """The findings of :func:`check_workflow`: one per (relevant node, rule)."""
    return list(check_workflow(data, source=source).findings)
