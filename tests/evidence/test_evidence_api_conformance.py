"""The dossier's API conformance section, from `golive api-check`'s summary."""

from __future__ import annotations

import json
from pathlib import Path

from golive.evidence import api_conformance


def _summary(unexplained: int) -> dict[str, object]:
    findings = [
        {
            "operation": "POST /deals",
            "check": "positive_data_acceptance",
            "code": "ST202",
            "status": 422,
            "error": "Board not found",
            "count": 3,
            "explained_by": "the board must exist",
        }
    ]
    if unexplained:
        findings.append(
            {
                "operation": "GET /me",
                "check": "not_a_server_error",
                "code": "ST101",
                "status": 500,
                "error": "boom",
                "count": 1,
                "explained_by": None,
            }
        )
    return {
        "completed": True,
        "unexplained": unexplained,
        "explained": 1,
        "test_cases": 900,
        "operations_tested": 26,
        "mode": "all operations + stateful",
        "schemathesis": "4.32.5",
        "seed": 16,
        "spec_url": "http://127.0.0.1:1/api/public/v1/openapi.json",
        "phases": {"coverage": "success"},
        "seconds": 12.0,
        "findings": findings,
    }


def test_the_section_says_whether_the_api_conforms_and_lists_every_finding(tmp_path: Path) -> None:
    assert api_conformance.read_summary(tmp_path, "pilot") is None
    assert "Not run" in "\n".join(api_conformance.markdown(None))
    folder = tmp_path / "api-check" / "pilot"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(_summary(1)))
    summary = api_conformance.read_summary(tmp_path, "pilot")
    text = "\n".join(api_conformance.markdown(summary))
    assert "does not conform" in text and "1 unexplained" in text
    assert "| GET /me | ST101 not_a_server_error | 500 | boom | 1 | **unexplained** |" in text
    assert "the board must exist" in text
    assert api_conformance.one_line(_summary(0)).startswith("conforms")
