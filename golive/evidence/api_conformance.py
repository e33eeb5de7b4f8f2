"""The dossier's "API conformance" section: what `golive api-check` (Schemathesis against the
CRM's public API, with the document the CRM serves) left in the run folder,
`api-check/<org>/summary.json`. Evidence, not a GO condition: crm-contract §6.3 does not list it,
and a real CRM's own document may lag its routes (the findings say where)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

API_CHECK_DIR = "api-check"
SUMMARY_FILE = "summary.json"


def read_summary(run_dir: Path, organisation: str) -> dict[str, Any] | None:
    path = run_dir / API_CHECK_DIR / organisation / SUMMARY_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def one_line(summary: Mapping[str, Any]) -> str:
    verdict = (
        "conforms" if summary.get("completed") and not summary.get("unexplained") else "does not conform"
    )
    return (
        f"{verdict}: {summary.get('test_cases')} generated cases on {summary.get('operations_tested')} "
        f"operations ({summary.get('mode')}), {summary.get('unexplained')} unexplained and "
        f"{summary.get('explained')} explained finding(s)"
    )


def _cell(value: object) -> str:
    return " ".join(str("" if value is None else value).split()).replace("|", "\\|")


def markdown(summary: Mapping[str, Any] | None) -> list[str]:
    """The section's lines (a note when the run has no api-check)."""
    out = ["## API conformance (Schemathesis)", ""]
    if summary is None:
        return [*out, "Not run for this organisation (`golive api-check --org …`).", ""]
    out += [
        f"**{one_line(summary)}.** Schemathesis {summary.get('schemathesis')}, seed "
        f"{summary.get('seed')}, against {summary.get('spec_url')}; phases "
        + ", ".join(f"{k} {v}" for k, v in (summary.get("phases") or {}).items())
        + f"; {summary.get('seconds')} s. Results: `api-check/` (JUnit, Allure).",
        "",
    ]
    findings = summary.get("findings") or []
    if findings:
        out += [
            "| operation | check | status | answer | cases | explained by the allow-list |",
            "|---|---|---|---|---|---|",
        ]
        out += [
            f"| {_cell(f.get('operation'))} | {_cell(f.get('code'))} {_cell(f.get('check'))} | "
            f"{_cell(f.get('status'))} | {_cell(f.get('error'))} | {_cell(f.get('count'))} | "
            f"{_cell(f.get('explained_by') or '**unexplained**')} |"
            for f in findings
        ]
        out.append("")
    return out
