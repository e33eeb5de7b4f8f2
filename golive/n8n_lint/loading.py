"""Reading exported workflow files: one object, a list of them, or a public-API list response."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from golive.n8n_lint.findings import Finding, LintInputError, WorkflowReport
from golive.n8n_lint.rules import check_workflow


def load(path: Path) -> list[tuple[Mapping[str, Any], str]]:
    """(workflow object, source label) of each workflow in ``path``."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LintInputError(source, "no such file") from None
    except IsADirectoryError:
        raise LintInputError(source, "is a directory") from None
    except UnicodeDecodeError:
        raise LintInputError(source, "not UTF-8 text") from None
    except OSError as exc:
        raise LintInputError(source, f"cannot read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LintInputError(
            source, f"invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    if isinstance(data, Mapping) and "nodes" not in data and isinstance(data.get("data"), list):
        data = data["data"]  # a public-API list response {data: [...]}
    if isinstance(data, list):
        if not data:
            raise LintInputError(source, "not an n8n workflow (empty list)")
        items: list[tuple[Mapping[str, Any], str]] = []
        for index, item in enumerate(data):
            if not isinstance(item, Mapping):
                raise LintInputError(source, f"item #{index} is not a workflow object")
            items.append((item, f"{source}#{index}"))
        return items
    if not isinstance(data, Mapping):
        raise LintInputError(source, "not an n8n workflow (the JSON top level is not an object)")
    return [(data, source)]


def check_paths(paths: Sequence[Path]) -> list[WorkflowReport]:
    """Check files (a directory means its ``*.json`` files). Raises :class:`LintInputError`."""
    reports: list[WorkflowReport] = []
    for path in paths:
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        if path.is_dir() and not files:
            raise LintInputError(str(path), "directory holds no *.json file")
        for file in files:
            reports.extend(check_workflow(data, source=source) for data, source in load(file))
    return reports


def lint_paths(paths: Sequence[Path]) -> list[Finding]:
    """The findings of :func:`check_paths`, workflow after workflow."""
    return [f for report in check_paths(paths) for f in report.findings]
