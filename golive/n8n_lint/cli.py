"""``golive n8n-lint``: lint files, print the report, and map the outcome to an exit code."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from golive.n8n_lint.findings import LintInputError, WorkflowReport
from golive.n8n_lint.loading import check_paths
from golive.n8n_lint.report import format_json, format_text


def run(
    paths: Sequence[Path],
    *,
    as_json: bool,
    out: TextIO,
    err: TextIO | None = None,
    failures_only: bool = False,
) -> int:
    """CLI entry point: 0 = every rule passes, 1 = a rule fails, 2 = unreadable input."""
    err_stream = err if err is not None else sys.stderr
    if not paths:
        print("golive n8n-lint: no workflow file given", file=err_stream)
        return 2
    reports: list[WorkflowReport] = []
    bad_input = False
    linted = False
    for path in paths:
        try:
            reports.extend(check_paths([path]))
            linted = True
        except LintInputError as exc:
            print(f"golive n8n-lint: {exc}", file=err_stream)
            bad_input = True
    if linted:
        render = format_json if as_json else format_text
        out.write(render(reports, failures_only=failures_only) + "\n")
    if bad_input:
        return 2
    return 1 if any(r.failed for r in reports) else 0
