"""golive api-check's reading of a Schemathesis run: findings from its NDJSON events (with the
answer's `error`), the allow-list that explains some, and golive's JUnit."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from golive.commands.api_check_results import (
    DEFAULT_ALLOW_LIST,
    explain,
    junit,
    load_allow_list,
    read_findings,
)
from golive.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _scenario(label: str, cases: dict[str, tuple[str, str, int, dict[str, str]]]) -> str:
    checks, interactions = {}, {}
    for case_id, (check, code, status, body) in cases.items():
        checks[case_id] = [
            {"name": "not_a_server_error", "status": "success"},
            {
                "name": check,
                "status": "failure",
                "failure_info": {"failure": {"code": code, "title": "T", "operation": label}},
            },
        ]
        content = base64.b64encode(json.dumps(body).encode()).decode()
        interactions[case_id] = {"response": {"status_code": status, "content": {"$base64": content}}}
    event = {"recorder": {"label": label, "checks": checks, "interactions": interactions}}
    return json.dumps({"ScenarioFinished": event})


def test_findings_are_grouped_by_operation_check_status_and_error(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text(
        "\n".join(
            [
                json.dumps({"Initialize": {"seed": 1}}),
                _scenario(
                    "POST /deals",
                    {
                        "a": ("positive_data_acceptance", "ST202", 422, {"error": "Board not found"}),
                        "b": ("positive_data_acceptance", "ST202", 422, {"error": "Board not found"}),
                        "c": ("positive_data_acceptance", "ST202", 422, {"error": "Invalid deal id"}),
                    },
                ),
                _scenario("GET /me", {"d": ("not_a_server_error", "ST101", 500, {"error": "boom"})}),
            ]
        )
    )
    found = read_findings(events)
    assert [(f.operation, f.error, f.count) for f in found] == [
        ("GET /me", "boom", 1),
        ("POST /deals", "Board not found", 2),
        ("POST /deals", "Invalid deal id", 1),
    ]


def test_the_allow_list_explains_only_what_it_names(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text(
        _scenario(
            "POST /deals",
            {
                "a": ("positive_data_acceptance", "ST202", 422, {"error": "Board not found"}),
                "b": ("positive_data_acceptance", "ST202", 422, {"error": "Invalid deal id"}),
                "c": ("not_a_server_error", "ST101", 500, {"error": "Board not found"}),
            },
        )
    )
    allow = load_allow_list(ROOT / DEFAULT_ALLOW_LIST)
    judged = explain(read_findings(events), allow, "sandbox")
    explained = {(f.check, f.error): f.explained_by is not None for f in judged}
    assert explained == {
        ("positive_data_acceptance", "Board not found"): True,
        ("positive_data_acceptance", "Invalid deal id"): False,
        ("not_a_server_error", "Board not found"): False,
    }
    # the sandbox's entries do not explain a staging's findings
    assert all(f.explained_by is None for f in explain(read_findings(events), allow, "staging"))


def test_every_allow_list_entry_says_why_and_an_entry_without_a_reason_is_refused(tmp_path: Path) -> None:
    entries = load_allow_list(ROOT / DEFAULT_ALLOW_LIST)
    assert entries and all(len(e.reason) > 40 for e in entries)
    bad = tmp_path / "allow.toml"
    bad.write_text('[[allow]]\noperation = "GET /me"\ncheck = "not_a_server_error"\n')
    with pytest.raises(ConfigError, match="lacks reason"):
        load_allow_list(bad)


def test_junit_fails_an_operation_only_for_unexplained_findings(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text(
        _scenario(
            "POST /deals",
            {
                "a": ("positive_data_acceptance", "ST202", 422, {"error": "Board not found"}),
                "b": ("positive_data_acceptance", "ST202", 422, {"error": "Invalid deal id"}),
            },
        )
    )
    judged = explain(read_findings(events), load_allow_list(ROOT / DEFAULT_ALLOW_LIST), "sandbox")
    suite = ET.fromstring(junit("pilot", ["GET /me", "POST /deals"], judged))
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert suite.get("failures") == "1"
    assert cases["GET /me"].find("failure") is None
    failure = cases["POST /deals"].find("failure")
    assert failure is not None and "Invalid deal id" in (failure.text or "")
    assert "Board not found" in (cases["POST /deals"].findtext("system-out") or "")
