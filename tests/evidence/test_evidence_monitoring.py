"""The monitoring window in the dossier: the GO rule "no critical error for ≥ 30 min after the run"
(crm-contract §6.3), the sandbox's short window said for what it is, and the items it evidences."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from evidence_fakes import EXAMPLE_ATTESTATIONS, NOW, ORG, SECRETS_FOR_TESTS, FakeRun, monitor_report

from golive.evidence.build import build_evidence
from golive.evidence.dossier import GO, NO_GO
from golive.evidence.monitoring import MonitorReport, go_rule

HOUR = 3600.0


def report(**changes: Any) -> MonitorReport:
    data = {**monitor_report(), **changes}
    return MonitorReport.from_dict(data, source="test")


def build(run: FakeRun, tmp_path: Path) -> Any:
    return build_evidence(
        run.root,
        ORG,
        signed_off_by="Ana Souza",
        attest_file=EXAMPLE_ATTESTATIONS,
        secrets=SECRETS_FOR_TESTS,
        allure_cli=None,
        history_dir=tmp_path / "history",
        now=NOW,
    )


@pytest.mark.parametrize(
    ("reports", "environment", "code"),
    [
        ([], "staging", "monitoring_not_run"),
        ([report(verdict="critical")], "sandbox", "monitoring_critical"),
        (
            [report(window_s=1800.0, window_label="30m"), report(verdict="critical")],
            "staging",
            "monitoring_critical",
        ),
        ([report(verdict="incomplete", complete=False)], "staging", "monitoring_incomplete"),
        ([report(window_s=600.0, window_label="10m")], "staging", "monitoring_window_short"),
    ],
)
def test_the_go_rule_names_what_is_missing_or_wrong(
    reports: list[MonitorReport], environment: str, code: str
) -> None:
    rule = go_rule(reports, environment=environment, organisation=ORG)

    assert [c for c, _ in rule.reasons] == [code]
    assert "golive monitor" in json.dumps(rule.reasons) or code == "monitoring_critical"


def test_thirty_minutes_without_critical_error_pass_anywhere() -> None:
    rule = go_rule([report(window_s=1800.0, window_label="30m")], environment="staging", organisation=ORG)

    assert rule.reasons == () and "30 min" in rule.summary and not rule.pilot_window_done


def test_a_sandbox_short_window_passes_and_says_it_is_short() -> None:
    rule = go_rule([report()], environment="sandbox", organisation=ORG)

    assert rule.reasons == ()
    assert "10 s" in rule.summary and "sandbox short window" in rule.summary and "30 min" in rule.summary


def test_a_clean_run_with_its_window_is_go_and_the_window_is_in_the_bundle(
    fake_run: Callable[..., FakeRun], tmp_path: Path
) -> None:
    result = build(fake_run(), tmp_path)

    assert result.verdict == GO, result.dossier.reasons
    dossier = json.loads((result.evidence_dir / "dossier.json").read_text(encoding="utf-8"))
    assert "sandbox short window" in dossier["monitoring"]["summary"]
    assert dossier["files"]["monitor:10s"] == f"monitor/{ORG}--10s.json"
    assert (result.evidence_dir / "monitor" / f"{ORG}--10s.json").is_file()
    items = {i["id"]: i for i in dossier["items"]}
    assert items["9.1"]["status"] == "automated+attested" and "monitoring" in items["9.1"]["result"]
    assert items["7.4"]["status"] == "attested"  # no 72 h window on a sandbox
    markdown = (result.evidence_dir / "dossier.md").read_text(encoding="utf-8")
    assert (
        "## Monitoring after the run" in markdown
        and "no critical error in the window after the run" in markdown
    )


def test_no_window_after_the_run_is_no_go(fake_run: Callable[..., FakeRun], tmp_path: Path) -> None:
    result = build(fake_run(monitored=False), tmp_path)

    assert result.verdict == NO_GO
    assert [r.code for r in result.dossier.reasons] == ["monitoring_not_run"]


def test_errors_after_the_run_turn_go_into_no_go(fake_run: Callable[..., FakeRun], tmp_path: Path) -> None:
    result = build(fake_run(monitor=monitor_report(verdict="critical")), tmp_path)

    assert result.verdict == NO_GO
    (reason,) = result.dossier.reasons
    assert reason.code == "monitoring_critical" and "identity-resolution failures 12/12" in reason.message


def test_a_72_hour_window_evidences_item_7_4(fake_run: Callable[..., FakeRun], tmp_path: Path) -> None:
    run = fake_run()
    run.write_json(f"monitor/{ORG}--72h.json", monitor_report(window="72h", seconds=72 * HOUR))

    result = build(run, tmp_path)

    items = {i.item.id: i for i in result.dossier.items}
    assert items["7.4"].status == "automated+attested" and items["7.4"].monitoring is not None
    assert "72.0 h" in (items["7.4"].monitoring or "")


def test_screens_are_linked_from_the_items_they_show(
    fake_run: Callable[..., FakeRun], tmp_path: Path
) -> None:
    result = build(fake_run(), tmp_path)

    items = {i.item.id: i for i in result.dossier.items}
    (screen,) = items["2.3"].screens
    assert screen.endswith(".png") and (result.evidence_dir / screen).is_file()
    assert items["2.3"].status == "automated" and "1 screen(s)" in items["2.3"].result
    markdown = (result.evidence_dir / "dossier.md").read_text(encoding="utf-8")
    assert "## Screens of the CRM (UI evidence)" in markdown
    assert f"Screenshot of Configurações → Integrações: [{screen}]({screen})" in markdown
    assert items["2.3"].scenarios[0].mandatory is False  # a screen never decides the verdict
