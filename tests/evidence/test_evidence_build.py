"""build_evidence end to end on fake run folders: bundle, report, leak scan, CI outputs."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from evidence_fakes import (
    CANARY,
    CANARY_NAME,
    EXAMPLE_ATTESTATIONS,
    NOW,
    ORG,
    OTHER_ORG,
    RUN_ID,
    FakeRun,
    clean_scenarios,
    fake_cli,
)

from golive.errors import EvidenceError
from golive.evidence.allure_cli import DEFAULT_TOOLS_DIR, find_allure_cli
from golive.evidence.attestations import AttestationError
from golive.evidence.build import (
    EvidenceResult,
    build_evidence,
    build_run_evidence,
    find_run,
    history_name,
    run_organisations,
)
from golive.evidence.ci_summary import CiRow, render_ci_summary, write_ci_summary
from golive.evidence.leak_scan import SecretLeakError
from golive.evidence.manifest import BUNDLE_NAME, verify_bundle, verify_manifest
from golive.evidence.offline_html import embedded_report_files, find_external_references

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRETS = {CANARY: CANARY_NAME}
GTM = (
    '<script async src="https://www.googletagmanager.com/gtag/js?id=G-X"></script>'
    "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
    "gtag('js', new Date());</script>"
)


def page(body: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head><title>report</title>{GTM}</head>"
        f'<body><div id="app"></div>{body}</body></html>'
    )


def build(run: FakeRun, tmp_path: Path, **options: Any) -> EvidenceResult:
    org = options.pop("org", ORG)
    kwargs: dict[str, Any] = {
        "signed_off_by": "Ana Souza",
        "attest_file": EXAMPLE_ATTESTATIONS,
        "secrets": SECRETS,
        "allure_cli": None,
        "history_dir": tmp_path / "history",
        "now": NOW,
        **options,
    }
    return build_evidence(run.root, org, **kwargs)


def members(bundle: Path) -> list[str]:
    with zipfile.ZipFile(bundle) as zf:
        return sorted(zf.namelist())


# --------------------------------------------------------------------------- GO


@pytest.mark.usefixtures("node_on_path")
def test_a_clean_run_gives_go_and_a_complete_verified_bundle(
    fake_run: Callable[..., FakeRun], tmp_path: Path
) -> None:
    run = fake_run()
    cli = fake_cli(tmp_path, page())

    result = build(run, tmp_path, allure_cli=cli)

    assert result.verdict == "GO" and result.exit_code == 0, result.dossier.reasons
    out = run.root / "evidence" / ORG
    assert result.evidence_dir == out and result.bundle == out / BUNDLE_NAME
    names = members(result.bundle)
    for expected in (
        "MANIFEST.sha256",
        "dossier.md",
        "dossier.json",
        "report/index.html",
        "run.log",
        "summary.json",
        "fingerprint.json",
        "channel-configs.json",
        "attestations.toml",
        f"junit-{ORG}.xml",
        "sql/1_conversation_links.json",
        "sql/2_contact_identities.json",
        "sql/3_identity_resolution_log.json",
        "sql/consistency_problems.json",
        "allure-results/environment.properties",
    ):
        assert expected in names, expected
    assert verify_bundle(result.bundle) == []
    assert verify_manifest(out) == []
    dossier = json.loads((out / "dossier.json").read_text(encoding="utf-8"))
    assert dossier["verdict"] == "GO"
    assert dossier["signed_off"]["by"] == "Ana Souza"
    assert dossier["leak_scan_secrets"] == [CANARY_NAME]
    assert dossier["files"]["HTML report (single file, offline)"] == "report/index.html"
    assert dossier["files"]["full run log"] == "run.log"
    # every scenario links to its page in the offline report and to its own Allure result
    linked = [s["evidence"] for s in dossier["scenarios"]]
    for files in linked:
        (raw,) = [f for f in files if f.endswith("-result.json")]
        uuid = Path(raw).name.removesuffix("-result.json")
        assert files[0] == f"report/index.html#{hashlib.md5(uuid.encode()).hexdigest()}"
    screens = {s["scenario"]: [f for f in s["evidence"] if f.endswith(".png")] for s in dossier["scenarios"]}
    assert [k for k, v in screens.items() if v] == [
        "The channel configuration of the organisation's inboxes is on screen"
    ]
    assert len({e[0] for e in linked}) == len(linked)
    markdown = (out / "dossier.md").read_text(encoding="utf-8")
    assert "**Verdict: ✅ GO**" in markdown and "[result](allure-results/" in markdown
    assert "[report](report/index.html#" in markdown


@pytest.mark.usefixtures("node_on_path")
def test_the_report_is_offline_and_holds_one_organisation_only(
    fake_run: Callable[..., FakeRun], tmp_path: Path
) -> None:
    run = fake_run()

    result = build(run, tmp_path, allure_cli=fake_cli(tmp_path, page()))

    assert result.report_html is not None
    text = result.report_html.read_text(encoding="utf-8")
    assert "googletagmanager" not in text
    assert find_external_references(text) == []
    copied = {
        p.name.split("-result.json")[0]
        for p in (result.evidence_dir / "allure-results").glob("*-result.json")
    }
    assert copied == set(run.result_ids[ORG])
    env = (result.evidence_dir / "allure-results" / "environment.properties").read_text()
    assert f"{ORG}.crm=" in env and OTHER_ORG not in env and "golive.version=0.1.0" in env


@pytest.mark.usefixtures("node_on_path")
def test_a_report_that_still_loads_remote_code_is_left_out(
    fake_run: Callable[..., FakeRun], tmp_path: Path
) -> None:
    js = 'var s=document.createElement("script");s.src="https://cdn.example.test/x.js"'
    bundle = "data:text/javascript;base64," + base64.b64encode(js.encode()).decode()
    run = fake_run()

    result = build(run, tmp_path, allure_cli=fake_cli(tmp_path, page(f'<script src="{bundle}"></script>')))

    assert result.report_html is None
    assert not (result.evidence_dir / "report").exists()
    assert any("external resources" in w for w in result.warnings)
    assert result.verdict == "GO"  # the raw results are the evidence


@pytest.mark.usefixtures("no_node")
def test_without_node_the_raw_results_are_bundled_with_a_warning(
    fake_run: Callable[..., FakeRun], tmp_path: Path
) -> None:
    run = fake_run()

    result = build(run, tmp_path, allure_cli=fake_cli(tmp_path, page()))

    assert result.report_html is None
    assert any("`node` is not on PATH" in w for w in result.warnings)
    names = members(result.bundle)
    assert not any(n.startswith("report/") for n in names)
    assert sum(n.endswith("-result.json") for n in names) == len(run.result_ids[ORG])
    dossier = json.loads((result.evidence_dir / "dossier.json").read_text(encoding="utf-8"))
    assert dossier["files"]["HTML report (single file, offline)"] is None
    assert any("`node` is not on PATH" in w for w in dossier["warnings"])


def test_without_the_allure_cli_there_is_a_warning_not_a_crash(
    fake_run: Callable[..., FakeRun], tmp_path: Path
) -> None:
    result = build(fake_run(), tmp_path, allure_cli=None)

    assert result.report_html is None
    assert any("Allure 3 CLI is not installed" in w for w in result.warnings)


# --------------------------------------------------------------------------- NO-GO and inputs


def test_a_failed_mandatory_scenario_gives_no_go_exit_1_and_a_failing_junit_verdict(
    fake_run: Callable[..., FakeRun], tmp_path: Path
) -> None:
    scenarios = clean_scenarios()
    scenarios[1] = {**scenarios[1], "outcome": "failed", "message": "no contact created"}
    run = fake_run(scenarios=scenarios)

    result = build(run, tmp_path)

    assert result.verdict == "NO-GO" and result.exit_code == 1
    assert [r.code for r in result.dossier.reasons] == ["scenario_failed"]
    root = ET.fromstring(result.junit.read_bytes())
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    verdict = suites["golive.go-no-go"].find("testcase")
    assert verdict is not None and verdict.get("name") == f"go-no-go[{ORG}]"
    failure = verdict.find("failure")
    assert failure is not None and "scenario_failed" in (failure.text or "")
    pytest_suite = suites["pytest"]
    assert pytest_suite.get("tests") == str(len(scenarios))  # the other org's cases are gone
    assert pytest_suite.get("failures") == "1"
    assert all(ORG in (c.get("name") or "") for c in pytest_suite.findall("testcase"))


def test_no_sql_file_means_sql_not_run(fake_run: Callable[..., FakeRun], tmp_path: Path) -> None:
    run = fake_run()
    (run.root / "sql" / f"{ORG}.json").unlink()

    result = build(run, tmp_path)

    assert [r.code for r in result.dossier.reasons] == ["sql_not_run"]
    assert not any(n.startswith("sql/") for n in members(result.bundle))


def test_a_missing_fingerprint_log_and_attestation_are_tolerated(
    fake_run: Callable[..., FakeRun], tmp_path: Path
) -> None:
    run = fake_run(fingerprint=False, log=None)

    result = build(run, tmp_path, attest_file=None, signed_off_by=None)

    assert [r.code for r in result.dossier.reasons] == ["no_attestation_file"]
    warnings = " ".join(result.warnings)
    assert "no fingerprint" in warnings and "no run log" in warnings
    assert "channel configuration per inbox was not recorded" in warnings
    fingerprint = json.loads((result.evidence_dir / "fingerprint.json").read_text())
    assert fingerprint["crm_base_url"] == "http://127.0.0.1:38241"
    assert fingerprint["profile_sha256"] == "5367c40b"
    assert "run.log" not in members(result.bundle)


def test_junit_is_rebuilt_from_the_summary_when_pytest_wrote_none(
    fake_run: Callable[..., FakeRun], tmp_path: Path
) -> None:
    run = fake_run()
    (run.root / "junit.xml").unlink()

    result = build(run, tmp_path)

    root = ET.fromstring(result.junit.read_bytes())
    names = [s.get("name") for s in root.findall("testsuite")]
    assert names == [f"golive {ORG}", "golive.go-no-go"]
    assert root.findall("testsuite")[0].get("tests") == str(len(clean_scenarios()))


def test_an_organisation_the_run_did_not_include_is_a_clear_error(
    fake_run: Callable[..., FakeRun], tmp_path: Path
) -> None:
    with pytest.raises(EvidenceError, match=r"no run summary for 'coronel'.*--org coronel"):
        build(fake_run(), tmp_path, org="coronel")


@pytest.mark.parametrize("slug", ["../..", "a/b", "", ".hidden"])
def test_a_slug_that_is_not_one_never_touches_the_disk(
    fake_run: Callable[..., FakeRun], tmp_path: Path, slug: str
) -> None:
    run = fake_run()

    with pytest.raises(EvidenceError, match="is not an organisation slug"):
        build(run, tmp_path, org=slug)
    assert not (run.root / "evidence").exists()


def test_a_bad_attestation_file_stops_before_anything_is_written(
    fake_run: Callable[..., FakeRun], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[item]]\nid = "6.1"\nanswer = "maybe"\norganisations = ["*"]\n', encoding="utf-8")
    run = fake_run()

    with pytest.raises(AttestationError, match=r"bad\.toml: \[\[item\]\] #1 \(id 6\.1\): field"):
        build(run, tmp_path, attest_file=bad)
    assert not (run.root / "evidence").exists()


# --------------------------------------------------------------------------- leak scan


def test_a_leaked_secret_deletes_the_bundle_and_names_file_and_secret(
    fake_run: Callable[..., FakeRun], tmp_path: Path
) -> None:
    run = fake_run(log=f"POST /api/public/v1/deals X-Api-Key: {CANARY}\n")

    with pytest.raises(SecretLeakError) as caught:
        build(run, tmp_path)

    message = str(caught.value)
    assert CANARY not in message
    assert f"run.log: {CANARY_NAME}" in message
    assert f"{BUNDLE_NAME}:run.log: {CANARY_NAME}" in message
    assert (f"{BUNDLE_NAME}:run.log", CANARY_NAME) in caught.value.hits
    assert not (run.root / "evidence" / ORG).exists()


@pytest.mark.usefixtures("node_on_path")
def test_a_secret_base64_encoded_inside_the_html_report_is_caught(
    fake_run: Callable[..., FakeRun], tmp_path: Path
) -> None:
    attachment = json.dumps({"headers": {"api_access_token": CANARY}}).encode()
    embedded = f'<script>d("data/attachments/x.json","{base64.b64encode(attachment).decode()}")'
    run = fake_run()

    with pytest.raises(SecretLeakError) as caught:
        build(run, tmp_path, allure_cli=fake_cli(tmp_path, page(embedded + "</script>")))

    where = {w for w, _ in caught.value.hits}
    assert "report/index.html:data/attachments/x.json" in where
    assert f"{BUNDLE_NAME}:report/index.html" in where
    assert CANARY not in str(caught.value)
    assert not (run.root / "evidence" / ORG).exists()


def test_without_secret_values_the_scan_warns(fake_run: Callable[..., FakeRun], tmp_path: Path) -> None:
    result = build(fake_run(), tmp_path, secrets={})

    assert any("leak scan had nothing to look for" in w for w in result.warnings)


# --------------------------------------------------------------------------- CI summary


def test_the_ci_summary_has_one_line_per_organisation(
    fake_run: Callable[..., FakeRun], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = fake_run()
    go = build(run, tmp_path)
    no_go = build(run, tmp_path, org=OTHER_ORG, attest_file=None)
    rows = [
        CiRow.from_result(go, relative_to=tmp_path),
        CiRow.from_result(no_go),
        CiRow.from_error("coronel", "secret leak in the evidence of 'coronel'"),
    ]

    text = render_ci_summary(rows, run_id=RUN_ID)

    lines = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(lines) == 3
    assert lines[0].startswith(f"| `{ORG}` | ✅ GO | 9 | 0 | 0 | ")
    assert f"`reports/{RUN_ID}/evidence/{ORG}/bundle.zip`" in lines[0]
    assert lines[1].startswith(f"| `{OTHER_ORG}` | ❌ NO-GO | ")
    assert "no attestation file" in lines[1]
    assert "⚠️ ERROR" in lines[2]
    assert "1 of 3 organisation(s) GO" in text
    job_summary = tmp_path / "step-summary.md"
    job_summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(job_summary))
    written = write_ci_summary(run.root / "evidence" / "ci-summary.md", text)
    assert written.read_text(encoding="utf-8") == text
    assert job_summary.read_text(encoding="utf-8") == "earlier step\n" + text


# --------------------------------------------------------------------------- real Allure 3

requires_allure = pytest.mark.skipif(
    find_allure_cli(REPO_ROOT / DEFAULT_TOOLS_DIR) is None or shutil.which("node") is None,
    reason="Allure 3 CLI not installed (python -m golive.evidence.allure_cli install) or no node",
)


@pytest.mark.slow
@requires_allure
def test_a_real_allure_report_per_organisation_with_its_own_history(
    fake_run: Callable[..., FakeRun], tmp_path: Path
) -> None:
    run = fake_run()
    cli = find_allure_cli(REPO_ROOT / DEFAULT_TOOLS_DIR)
    history = tmp_path / "history"

    pilot = build(run, tmp_path, allure_cli=cli, history_dir=history)
    second = build(run, tmp_path, allure_cli=cli, history_dir=history, org=OTHER_ORG)
    again = build(run, tmp_path, allure_cli=cli, history_dir=history)

    for result in (pilot, second, again):
        assert result.report_html is not None, result.warnings
        text = result.report_html.read_text(encoding="utf-8")
        assert find_external_references(text) == []
        embedded = embedded_report_files(text)
        orgs = {
            label["value"]
            for name, data in embedded.items()
            if name.startswith("data/test-results/")
            for label in json.loads(data).get("labels", [])
            if label.get("name") == "organisation"
        }
        assert orgs == {result.organisation}
        assert verify_bundle(result.bundle) == []
    pilot_file, second_file = f"{ORG}-sandbox.jsonl", f"{OTHER_ORG}-sandbox.jsonl"
    assert sorted(p.name for p in history.iterdir()) == [pilot_file, second_file]
    assert len((history / pilot_file).read_text(encoding="utf-8").splitlines()) == 2
    assert len((history / second_file).read_text(encoding="utf-8").splitlines()) == 1


# --------------------------------------------------------------------------- a whole run


def test_a_whole_run_exit_codes_and_ci_summary(fake_run: Callable[..., FakeRun], tmp_path: Path) -> None:
    run = fake_run()
    (run.root.parent / "20261129T130000Z-beef-kill-matrix" / "summary").mkdir(parents=True)
    options: dict[str, Any] = {
        "signed_off_by": "Ana Souza",
        "attest_file": EXAMPLE_ATTESTATIONS,
        "secrets": SECRETS,
        "allure_cli": None,
        "history_dir": tmp_path / "history",
        "env": {},
        "now": NOW,
    }

    assert find_run(run.root.parent) == run.root  # kill-matrix folders are not runs
    assert run_organisations(run.root) == [ORG, OTHER_ORG]
    everything = build_run_evidence(run.root, **options)
    assert everything.exit_code == 0
    assert [r.organisation for r in everything.results] == [ORG, OTHER_ORG]
    assert everything.ci_summary == run.root / "evidence" / "ci-summary.md"
    junit = ET.fromstring(everything.results[0].junit.read_bytes())
    verdict = junit.find("testsuite[@name='golive.go-no-go']/testcase")
    assert verdict is not None and verdict.find("failure") is None

    assert build_run_evidence(run.root, [ORG], **{**options, "attest_file": None}).exit_code == 1
    missing = build_run_evidence(run.root, [ORG, "coronel"], **options)
    assert missing.exit_code == 2 and set(missing.errors) == {"coronel"}
    assert len(missing.results) == 1  # one organisation's error does not stop the others

    (run.root / "logs" / f"{OTHER_ORG}.log").write_text(f"token={CANARY}\n", encoding="utf-8")
    leaked = build_run_evidence(run.root, **options)
    assert leaked.exit_code == 3 and leaked.leaks == {OTHER_ORG}
    summary_text = leaked.ci_summary.read_text(encoding="utf-8")
    assert "⚠️ ERROR" in summary_text and CANARY_NAME in summary_text
    assert CANARY not in summary_text


def test_no_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match=r"no run in .*: run `golive smoke` first"):
        find_run(tmp_path / "reports")
    with pytest.raises(EvidenceError, match=r"no run 'nope'"):
        find_run(tmp_path, "nope")


def test_evidence_for_zero_organisations_is_an_error(tmp_path: Path) -> None:
    run = tmp_path / "reports" / RUN_ID
    (run / "summary").mkdir(parents=True)  # e.g. a run the preflight stopped before any scenario

    with pytest.raises(EvidenceError, match="has no organisation to give evidence for"):
        build_run_evidence(
            run,
            signed_off_by=None,
            attest_file=None,
            secrets=SECRETS,
            allure_cli=None,
            history_dir=tmp_path / "history",
        )


def test_history_is_kept_per_target_never_merging_tenants() -> None:
    staging = {"environment": "staging", "crm_base_url": "https://crm-staging.example.com"}
    tenant_a = {**staging, "crm_organisation": {"id": "aaaaaaaa", "name": "A"}}
    tenant_b = {**staging, "crm_organisation": {"id": "bbbbbbbb", "name": "B"}}
    other_staging = {**tenant_a, "crm_base_url": "https://crm-other.example.com"}

    names = {history_name("runbook", fp) for fp in (tenant_a, tenant_b, other_staging)}

    assert len(names) == 3 and all(n.startswith("runbook-") and n.endswith(".jsonl") for n in names)
    assert history_name("runbook", dict(tenant_a)) == history_name("runbook", tenant_a)  # stable
    assert history_name(ORG, {"environment": "sandbox"}) == f"{ORG}-sandbox.jsonl"


def test_the_preflight_report_goes_into_the_bundle(fake_run: Callable[..., FakeRun], tmp_path: Path) -> None:
    run = fake_run()
    run.write_json(f"preflight/{ORG}.json", {"organisation": ORG, "ok": True, "checks": {"crm": "reachable"}})

    result = build(run, tmp_path)

    assert "preflight.json" in members(result.bundle)
    assert json.loads((result.evidence_dir / "preflight.json").read_text())["checks"] == {"crm": "reachable"}
