"""Static "template v2" conformance check of exported n8n agent workflows.

The rules R1-R6 and where they live in an exported workflow JSON are described in
``shared/reference/n8n-and-tooling.md`` §2.  The checker never executes anything: it reads
node parameters, follows ``$('Node').item.json.X`` / ``$json.X`` references through Set and
Code nodes (:mod:`.workflow`, :mod:`.javascript`), and judges the resulting "derivation" text
of each key, identity, source or deal id (:mod:`.rules`, one module per rule).

Public API: :class:`Finding`, :class:`LintInputError`, :func:`lint_workflow`,
:func:`lint_paths`, :func:`format_text`, :func:`format_json` and :func:`run`.
"""

from __future__ import annotations

from golive.n8n_lint.cli import run
from golive.n8n_lint.findings import FAIL, PASS, RULES, WORKFLOW_NODE, Finding, LintInputError
from golive.n8n_lint.loading import lint_paths
from golive.n8n_lint.report import format_json, format_text
from golive.n8n_lint.rules import lint_workflow

__all__ = [
    "FAIL",
    "PASS",
    "RULES",
    "WORKFLOW_NODE",
    "Finding",
    "LintInputError",
    "format_json",
    "format_text",
    "lint_paths",
    "lint_workflow",
    "run",
]
