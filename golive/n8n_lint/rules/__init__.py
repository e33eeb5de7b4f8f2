"""The template v2 rules R1–R6, one module each, run in order by :func:`lint_workflow`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from golive.n8n_lint.findings import Finding, LintInputError
from golive.n8n_lint.rules.context import Check
from golive.n8n_lint.rules.deal_id import deal_id_resolved_first
from golive.n8n_lint.rules.identity_fallbacks import no_identity_fallbacks
from golive.n8n_lint.rules.igsid import igsid_from_source_id
from golive.n8n_lint.rules.session_keys import canonical_keys, key_expressions
from golive.n8n_lint.rules.source import source_from_channel
from golive.n8n_lint.rules.stage_move import stage_move_nodes, stage_moves_by_deal_id
from golive.n8n_lint.workflow import Workflow

__all__ = ["lint_workflow"]


def lint_workflow(data: Mapping[str, Any], *, source: str) -> list[Finding]:
    """Check one exported workflow object; one finding per (relevant node, rule).

    Raises :class:`LintInputError` when ``data`` is not a workflow object.
    """
    if not isinstance(data, Mapping):
        raise LintInputError(source, "not an n8n workflow (the JSON top level is not an object)")
    check = Check(Workflow(data, source))
    stage_moves = stage_move_nodes(check.wf)
    stage_moves_by_deal_id(check, stage_moves)
    deal_id_resolved_first(check, stage_moves)
    keys = key_expressions(check.wf)
    canonical_keys(check, keys)
    no_identity_fallbacks(check, keys)
    source_from_channel(check)
    igsid_from_source_id(check)
    return check.findings
