"""Input errors, the text and JSON reports, failures-only output and run()'s exit codes."""

from __future__ import annotations

import io
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from n8n_lint_support import FOLLOWUP, NONCONFORMANT, TEMPLATE, VARIANTS, failing, load, node, template

from golive.n8n_lint import (
    Finding,
    LintInputError,
    check_paths,
    check_workflow,
    format_json,
    format_text,
    lint_paths,
    lint_workflow,
    run,
)

# --------------------------------------------------------------------------------------
# input errors
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [{"name": "x"}, {"nodes": "no"}, {"nodes": [{"name": "a"}]}, {"nodes": [], "connections": []}],
)
def test_not_a_workflow_raises(data: dict[str, Any]) -> None:
    with pytest.raises(LintInputError, match=r"^broken\.json: "):
        lint_workflow(data, source="broken.json")


def test_lint_paths_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(LintInputError, match=r"bad\.json: invalid JSON"):
        lint_paths([bad])
    scalar = tmp_path / "scalar.json"
    scalar.write_text("42", encoding="utf-8")
    with pytest.raises(LintInputError, match=r"scalar\.json: not an n8n workflow"):
        lint_paths([scalar])
    with pytest.raises(LintInputError, match=r"missing\.json: no such file"):
        lint_paths([tmp_path / "missing.json"])


def test_lint_paths_accepts_a_directory_and_a_list_export(tmp_path: Path) -> None:
    findings = lint_paths([NONCONFORMANT])
    assert len({f.workflow for f in findings}) == len(VARIANTS)
    export = tmp_path / "all.json"
    export.write_text(json.dumps([template(), template()]), encoding="utf-8")
    findings = lint_paths([export])
    assert len({f.workflow for f in findings}) == 2
    assert failing(findings) == []


# --------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------


def test_format_text_puts_failures_first_and_ends_with_the_verdicts_and_the_summary() -> None:
    reports = check_paths([TEMPLATE, NONCONFORMANT / "r3-conversation-session-key.json"])
    text = format_text(reports)
    lines = text.splitlines()
    assert lines[-1] == "2 workflow(s), 1 rule(s) broken"
    assert lines[0].startswith("FAIL R3 ")
    finding_lines = [ln for ln in lines if ln.startswith(("FAIL", "pass"))]
    first_pass = next(i for i, ln in enumerate(finding_lines) if ln.startswith("pass"))
    assert all(ln.startswith("FAIL") for ln in finding_lines[:first_pass])
    assert all(ln.startswith("pass") for ln in finding_lines[first_pass:])
    assert sum(ln.startswith("FAIL") for ln in lines) == 2
    assert '"Memoria"' in text and "evidence: " in text
    # one verdict line per workflow, in input order, just before the summary
    verdicts = lines[-3:-1]
    assert verdicts[0].startswith("workflow pass [LagostaCRM Agente v2 (template) (")
    assert "agent flow, rules R1–R6: every rule holds" in verdicts[0]
    assert verdicts[1].startswith("workflow FAIL [") and "agent flow, rules R1–R6: breaks R3" in verdicts[1]
    assert 'webhook "Webhook" receives Chatwoot events' in verdicts[1]


def test_format_text_of_a_clean_run() -> None:
    assert format_text(check_paths([TEMPLATE])).splitlines()[-1] == ("1 workflow(s), 0 rule(s) broken")


def test_format_text_names_a_flow_without_an_agent_and_its_only_rule() -> None:
    (report,) = check_paths([FOLLOWUP])
    line = format_text([report]).splitlines()[-2]
    assert line.startswith("workflow pass [LagostaCRM Follow-up 24h (template) (")
    assert "other flow, rule R1 only: every rule holds" in line
    assert 'no AI Agent node; triggers: scheduleTrigger "A cada hora"' in line


def test_failures_only_text_keeps_failures_their_verdicts_and_the_summary() -> None:
    reports = check_paths([TEMPLATE, FOLLOWUP, NONCONFORMANT / "r6-phone-falls-back-to-igsid.json"])
    full = format_text(reports)
    short = format_text(reports, failures_only=True)
    assert [ln for ln in full.splitlines() if ln.startswith("FAIL ")] == [
        ln for ln in short.splitlines() if ln.startswith("FAIL ")
    ]
    assert any(ln.startswith("pass ") for ln in full.splitlines())
    lines = short.splitlines()
    assert not any(ln.startswith(("pass ", "workflow pass ")) for ln in lines)
    assert [ln for ln in lines if ln.startswith("workflow ")] == [
        ln for ln in full.splitlines() if ln.startswith("workflow FAIL ")
    ]
    assert len([ln for ln in lines if ln.startswith("workflow FAIL ")]) == 1
    assert lines[-1] == full.splitlines()[-1] == "3 workflow(s), 1 rule(s) broken"


def test_failures_only_of_a_clean_run_is_just_the_summary() -> None:
    assert format_text(check_paths([TEMPLATE, FOLLOWUP]), failures_only=True) == (
        "2 workflow(s), 0 rule(s) broken"
    )
    assert json.loads(format_json(check_paths([TEMPLATE]), failures_only=True)) == []


def test_format_json_is_a_stable_list_of_finding_objects() -> None:
    reports = check_paths([NONCONFORMANT / "r1-move-by-identity.json"])
    findings = reports[0].findings
    text = format_json(reports)
    assert text == format_json(check_paths([NONCONFORMANT / "r1-move-by-identity.json"]))
    data = json.loads(text)
    assert isinstance(data, list) and len(data) == len(findings)
    keys = [f.name for f in fields(Finding)]
    assert keys == ["workflow", "node", "type", "rule", "verdict", "evidence", "message", "flow"]
    assert all(list(item) == keys for item in data)
    assert {item["flow"] for item in data} == {"agent"}
    r1 = [d for d in data if d["rule"] == "R1"]
    assert r1 == [
        {
            "workflow": findings[0].workflow,
            "node": "Mover estagio",
            "type": "n8n-nodes-base.httpRequestTool",
            "rule": "R1",
            "verdict": "fail",
            "evidence": r1[0]["evidence"],
            "message": r1[0]["message"],
            "flow": "agent",
        }
    ]


def test_failures_only_json_lists_exactly_the_failing_findings() -> None:
    reports = check_paths([NONCONFORMANT, FOLLOWUP])
    everything = json.loads(format_json(reports))
    failures = json.loads(format_json(reports, failures_only=True))
    assert failures == [item for item in everything if item["verdict"] == "fail"]
    assert len(failures) < len(everything)
    assert {item["rule"] for item in failures} == {v.rule for v in VARIANTS.values()}
    # the follow-up flow shows up in the full output, as an "other" flow that passes R1
    followup = [item for item in everything if item["workflow"].startswith("LagostaCRM Follow-up 24h")]
    assert {(item["rule"], item["verdict"], item["flow"]) for item in followup} == {("R1", "pass", "other")}


def test_findings_never_dump_nodes_or_credentials() -> None:
    wf = template()
    secret_like = "cred-id-DO-NOT-LEAK-7f3a"
    for n in wf["nodes"]:
        for credential in n.get("credentials", {}).values():
            credential["id"] = secret_like
            credential["name"] = "Credential name DO-NOT-LEAK"
    # a very long code node must not be copied whole into a finding
    ident = node(wf, "Identidade canonica")["parameters"]
    ident["jsCode"] = "// " + "x" * 5000 + "\n" + ident["jsCode"]
    for report in (
        check_workflow(wf, source="test.json"),
        check_workflow(load(NONCONFORMANT / "r4-name-fallback.json"), source="r4.json"),
    ):
        dumped = format_json([report]) + format_text([report])
        assert "DO-NOT-LEAK" not in dumped
        assert '"credentials"' not in dumped and '"parameters"' not in dumped
        assert "xxxxxxxxxx" not in dumped
        for f in report.findings:
            assert len(f.evidence) <= 300
            assert "\n" not in f.evidence and "\n" not in f.message


# --------------------------------------------------------------------------------------
# run(): exit codes
# --------------------------------------------------------------------------------------


def test_run_exit_0_when_everything_passes() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run([TEMPLATE], as_json=False, out=out, err=err) == 0
    assert out.getvalue().rstrip().endswith("1 workflow(s), 0 rule(s) broken")
    assert err.getvalue() == ""


def test_run_exit_1_when_a_rule_fails_and_json_output() -> None:
    out = io.StringIO()
    path = NONCONFORMANT / "r5-hardcoded-source.json"
    assert run([path], as_json=True, out=out, err=io.StringIO()) == 1
    data = json.loads(out.getvalue())
    assert {d["rule"] for d in data if d["verdict"] == "fail"} == {"R5"}


def test_run_exit_2_for_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.json"
    out = io.StringIO()
    assert run([missing], as_json=False, out=out) == 2
    captured = capsys.readouterr()
    assert captured.err == f"golive n8n-lint: {missing}: no such file\n"
    assert "Traceback" not in captured.err
    assert out.getvalue() == ""


def test_run_exit_2_for_invalid_json_even_with_good_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"nodes": [', encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run([TEMPLATE, bad], as_json=False, out=out, err=err) == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"golive n8n-lint: {bad}: invalid JSON")
    # the readable file is still reported
    assert out.getvalue().rstrip().endswith("1 workflow(s), 0 rule(s) broken")


def test_run_exit_2_without_files() -> None:
    err = io.StringIO()
    assert run([], as_json=False, out=io.StringIO(), err=err) == 2
    assert err.getvalue().startswith("golive n8n-lint: ")


@pytest.mark.parametrize("as_json", [False, True])
def test_run_failures_only_changes_the_output_not_the_exit_code(as_json: bool) -> None:
    paths = [TEMPLATE, NONCONFORMANT / "r4-gate-without-identity.json"]
    full, short = io.StringIO(), io.StringIO()
    assert run(paths, as_json=as_json, out=full, err=io.StringIO()) == 1
    assert run(paths, as_json=as_json, out=short, err=io.StringIO(), failures_only=True) == 1
    assert len(short.getvalue()) < len(full.getvalue())
    assert "gate" in short.getvalue()
    clean = io.StringIO()
    assert run([TEMPLATE, FOLLOWUP], as_json=as_json, out=clean, err=io.StringIO(), failures_only=True) == 0


def test_cli_n8n_lint_has_a_failures_only_option() -> None:
    from typer.testing import CliRunner

    from golive.commands.cli import app

    fixture = str(NONCONFORMANT / "r6-phone-falls-back-to-igsid.json")
    result = CliRunner().invoke(app, ["n8n-lint", "--json", "--failures-only", fixture])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data and {(d["rule"], d["verdict"], d["node"]) for d in data} == {("R6", "fail", "Buscar contato")}
    result = CliRunner().invoke(app, ["n8n-lint", "--failures-only", str(FOLLOWUP)])
    assert result.exit_code == 0 and result.stdout == "1 workflow(s), 0 rule(s) broken\n"
