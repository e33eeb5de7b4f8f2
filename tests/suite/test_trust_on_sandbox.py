"""A verdict you can trust, proven on the sandbox:

* every misconfiguration stops the run before any scenario with one line and exit 2;
* a target configured only through the runbook's SMOKE_* variables (no control API, no second
  organisation) reaches GO with a person's attestations, in a signed bundle that verifies;
* no secret — those the suite loads and those it only meets in responses, the Chatwoot double's
  leak canaries included — reaches reports/, after `golive smoke` and after every failed run.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from trust_support import (
    ORG,
    UNSET_ON_THE_SANDBOX,
    clean_env,
    leaks,
    planted_secrets,
    runbook_env,
    sandbox_org,
)

from golive.clients.control import ControlClient
from golive.clients.http import build_client
from golive.commands.monitor import monitor_after_run
from golive.commands.smoke import EvidenceRequest, run_smoke
from golive.commands.subrun import SubRun
from golive.evidence.allure_cli import DEFAULT_TOOLS_DIR, find_allure_cli
from golive.evidence.build import build_run_evidence
from golive.evidence.signing import load_public_key, load_signer
from golive.evidence.verify import check_bundle
from golive.runtime.sandbox_process import STATE_ENV, SandboxHandle
from golive.sandbox.postgres import free_port
from golive.settings import SETTINGS

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SLUGS = ("sandbox-pilot", "sandbox-second")
EXAMPLE = ROOT / "fixtures" / "attestations" / "example.toml"
SECRET_VARIABLES = {s.runbook_env for s in SETTINGS if s.secret}
PYTEST_TOTALS = r"\d+ (passed|failed)(, .*)? in [\d.]+s"  # pytest's last line: a scenario ran


@pytest.fixture
def control(sandbox: SandboxHandle) -> Iterator[ControlClient]:
    org = sandbox_org(sandbox)
    assert org.control_url and org.control_token
    http = build_client(
        "control",
        base_url=org.control_url,
        timeout=30,
        headers={"X-Golive-Control-Token": org.control_token.reveal()},
    )
    client = ControlClient(http=http, organisation=ORG)
    client.set_faults([])
    # no reset: Chatwoot's message ids would start again while n8n keeps its executions, and a
    # later scenario could find an older execution under its message id
    yield client
    client.set_faults([])
    http.close()


def run_runbook(reports: Path, run_id: str, env: dict[str, str]) -> tuple[int, str]:
    log = reports.parent / f"{reports.name}-{run_id}.log"
    code = SubRun(ROOT, ["runbook"], run_id, reports_dir=reports).run(env=env, log=log, timeout_s=600)
    return code, log.read_text(encoding="utf-8", errors="replace")


# --- misconfiguration: one line, exit 2, before any scenario -----------------------------------------


MISCONFIGURATIONS = {
    "wrong API key": (
        lambda env: {**env, "SMOKE_CRM_API_KEY": "ncrm_" + "0" * 32},
        r"the CRM refuses the API key in SMOKE_CRM_API_KEY \(401",
    ),
    "wrong webhook secret": (
        lambda env: {**env, "SMOKE_CHATWOOT_WEBHOOK_SECRET": "not-the-crms-secret-" + "x" * 12},
        r"refuses the secret in SMOKE_CHATWOOT_WEBHOOK_SECRET in every form .*wrong secret",
    ),
    "unreachable host": (
        lambda env: {**env, "SMOKE_BASE_URL": f"http://127.0.0.1:{free_port()}"},
        r"cannot reach the CRM at http://127\.0\.0\.1:\d+ .*check SMOKE_BASE_URL",
    ),
    "wrong database password": (
        lambda env: {
            **env,
            "SMOKE_DATABASE_URL": re.sub(r"password=\S+", "password=wrong-pw-00", env["SMOKE_DATABASE_URL"]),
        },
        r"cannot open the read-only database connection \(SMOKE_DATABASE_URL\): "
        r".*password authentication failed",
    ),
    "missing SMOKE_ variable": (
        lambda env: {k: v for k, v in env.items() if k != "SMOKE_WHATSAPP_PHONE"},
        r"missing setting SMOKE_WHATSAPP_PHONE for organisation 'runbook': set SMOKE_WHATSAPP_PHONE",
    ),
}


@pytest.mark.parametrize("case", sorted(MISCONFIGURATIONS))
def test_a_misconfiguration_is_one_line_and_exit_2_before_any_scenario(
    sandbox: SandboxHandle, tmp_path: Path, case: str
) -> None:
    change, expected = MISCONFIGURATIONS[case]
    env = change(runbook_env(sandbox_org(sandbox)))

    code, output = run_runbook(tmp_path / "reports", "misconfigured", clean_env(**env))

    assert code == 2, output[-3000:]
    problems = [line for line in output.splitlines() if line.strip()]
    assert len(problems) == 1 and problems[0].startswith("golive: "), output[-3000:]  # the whole output
    assert re.search(expected, problems[0]), problems[0]
    assert "Traceback" not in output and not re.search(PYTEST_TOTALS, output)
    original = runbook_env(sandbox_org(sandbox))
    wrong = {f"wrong {n}": v for n, v in env.items() if n in SECRET_VARIABLES and v != original.get(n)}
    assert leaks(tmp_path, {**planted_secrets(sandbox), **wrong}) == []


def test_a_signature_scheme_that_is_not_chatwoots_is_said_once_up_front(
    sandbox: SandboxHandle, control: ControlClient, tmp_path: Path
) -> None:
    control.set_faults(["crm-signature-scheme-legacy"])

    code, output = run_runbook(
        tmp_path / "reports", "legacy-scheme", clean_env(**runbook_env(sandbox_org(sandbox)))
    )

    assert code == 2
    assert output.count("signature scheme not Chatwoot's") == 1, output[-3000:]
    assert "golive: runbook: signature scheme not Chatwoot's" in output
    assert "401" in output and not re.search(PYTEST_TOTALS, output)
    assert leaks(tmp_path, planted_secrets(sandbox)) == []


def test_golive_smoke_prints_each_organisations_preflight_problem(
    sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**runbook_env(sandbox_org(sandbox)), "SMOKE_CRM_API_KEY": "ncrm_" + "1" * 32}
    monkeypatch.delenv(STATE_ENV, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    said: list[str] = []

    with pytest.raises(Exception, match="preflight failed for runbook") as stopped:
        run_smoke(root=ROOT, orgs=["runbook", "runbook"], reports_dir=tmp_path / "reports", say=said.append)

    assert getattr(stopped.value, "setting", "") == "preflight"
    problems = [line for line in said if line.startswith("✗ preflight runbook:")]
    assert len(problems) == 1 and "refuses the API key in SMOKE_CRM_API_KEY" in problems[0]
    assert not any(line.startswith("▶") for line in said)  # no organisation's suite was started
    assert leaks(tmp_path, planted_secrets(sandbox)) == []


# --- GO on a target configured only through SMOKE_* variables ----------------------------------


def attestations_for(run: Path, path: Path) -> Path:
    """The example answers, for the runbook organisation, plus a [[scenario]] answer for each
    mandatory scenario the run could not run here — what a release manager writes."""
    text = EXAMPLE.read_text(encoding="utf-8").replace('["sandbox-pilot", "sandbox-second"]', '["runbook"]')
    summary = json.loads((run / "summary" / "runbook.json").read_text(encoding="utf-8"))
    cannot_run = [s for s in summary["scenarios"] if s["attest"] and ("smoke" in s["tags"])]
    for entry in cannot_run:
        text += (
            f'\n[[scenario]]\nscenario = "{entry["feature"]}: {entry["scenario"]}"\nanswer = "yes"\n'
            'by = "golive tests (release manager)"\nat = 2026-11-30T10:00:00-03:00\n'
            'seen = "done by hand on the staging, as the dossier asked"\norganisations = ["runbook"]\n'
        )
    path.write_text(text, encoding="utf-8")
    return path


def test_a_target_configured_only_through_smoke_variables_reaches_a_signed_go(
    sandbox: SandboxHandle, control: ControlClient, tmp_path: Path
) -> None:
    org = sandbox_org(sandbox)
    env = runbook_env(org)
    every = {s.runbook_env for s in SETTINGS if not s.key.startswith("control.")}
    assert every - UNSET_ON_THE_SANDBOX == set(env)
    reports = tmp_path / "reports"
    control.run_backfill()  # a staging's team runs its own backfill before the smoke (5.1–5.3)

    code, output = run_runbook(reports, "runbook-go", clean_env(**env))

    assert code == 1, output[-3000:]  # the suite alone is NOT PROVEN: five scenarios need a person
    assert "NOT PROVEN  runbook" in output and " 0 failed" in output, output[-3000:]
    run = reports / "runbook-go"
    summary = json.loads((run / "summary" / "runbook.json").read_text(encoding="utf-8"))
    attestable = sorted(
        f"{s['feature']}: {s['scenario']}"
        for s in summary["scenarios"]
        if s["attest"] and "smoke" in s["tags"]
    )
    assert attestable == [
        "api_records: A deal for another organisation's contact is refused",
        "api_security: One organisation's key cannot read or move another organisation's deal",
        "channel_isolation: A delivery that names another organisation in a header is filed under its "
        "inbox's organisation",
        "channel_isolation: Two tenants on the same Chatwoot account stay apart",
        "webhook_recovery: A delivery lost during an outage is replayed once the CRM is back",
    ]
    key = tmp_path / "release-manager.pem"
    private = Ed25519PrivateKey.generate()
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    (tmp_path / "release-manager.pem.pub").write_text(f"{public.decode()} Ana Souza <ana@lagosta.example>\n")
    secrets = planted_secrets(sandbox)
    # The window after the run: GO on a staging needs 30 quiet minutes (`golive monitor --window
    # 30m`). The test watches the sandbox's short window for real, then stands in for the rest of
    # the half hour with the same report at 30 min — the monitor's own rules are tested elsewhere.
    (watched,) = monitor_after_run(
        root=ROOT, run_dir=run, organisations=["runbook"], env=clean_env(**env), say=print
    ).values()
    assert watched.verdict == "ok" and watched.complete
    replace(watched, window_s=1800.0, window_label="30m", observed_s=1800.0).write(run)

    built = build_run_evidence(
        run,
        ["runbook"],
        signed_off_by=None,
        signer=load_signer(key),
        attest_file=attestations_for(run, tmp_path / "attestations.toml"),
        secrets={value: name for name, value in secrets.items()},
        allure_cli=find_allure_cli(ROOT / DEFAULT_TOOLS_DIR, version=None),
        history_dir=reports / ".history",
    )

    assert not built.errors, built.errors
    (result,) = built.results
    assert result.verdict == "GO", [r.message for r in result.dossier.reasons]
    dossier = json.loads((result.evidence_dir / "dossier.json").read_text(encoding="utf-8"))
    assert dossier["crm_organisation"] == {"id": org.organization_id, "name": "Coronel Picanha (sandbox)"}
    assert dossier["signed_off"]["by"] == "Ana Souza <ana@lagosta.example>"
    fingerprint = json.loads((result.evidence_dir / "fingerprint.json").read_text(encoding="utf-8"))
    assert fingerprint["crm_organisation"]["id"] == org.organization_id and fingerprint["git_branch"]
    assert fingerprint["versions"]["chatwoot"] and any(
        w["organisation_flow"] for w in fingerprint["workflows"]
    )
    if result.report_html is not None:  # Allure history of this target: CRM URL + organisation id
        (history,) = (reports / ".history").iterdir()
        assert re.fullmatch(r"runbook-[0-9a-f]{12}\.jsonl", history.name)
    check = check_bundle(result.bundle, load_public_key(tmp_path / "release-manager.pem.pub"))
    assert check.ok, check.problems
    verify = [
        sys.executable,
        "-c",
        "from golive.commands.cli import main; main()",
        "verify",
        str(result.bundle),
    ]
    assert subprocess.run(verify, cwd=ROOT, capture_output=True, text=True, check=False).returncode == 0
    assert leaks(tmp_path / "reports", secrets) == []


# --- no secret under reports/ after golive smoke ---------------------------------------------------


def test_golive_smoke_leaves_no_secret_not_even_those_first_seen_in_responses(
    sandbox: SandboxHandle, control: ControlClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STATE_ENV, str(sandbox.state_dir))
    secrets = planted_secrets(sandbox)
    canaries = [name for name in secrets if "webhook 9000" in name]
    assert len(canaries) == 2, secrets.keys()  # the leak canary's secret and its URL token

    run, results, built = run_smoke(
        root=ROOT,
        orgs=[],
        reports_dir=tmp_path / "reports",
        evidence=EvidenceRequest(EXAMPLE, None),
        say=lambda line: None,
    )

    assert [r.exit_code for r in results] == [0, 0], [r.log for r in results]
    assert built is not None and built.exit_code == 0, built.errors
    assert leaks(tmp_path / "reports", secrets) == []
    # and they were there to leak: the webhook list reached the evidence, redacted where it stood
    attachments = "".join(
        p.read_text(errors="replace") for p in (run.root / "allure-results").glob("*-attachment.json")
    )
    assert "«redacted:chatwoot:secret»" in attachments and "«redacted:chatwoot:token»" in attachments


# --- pytest-xdist: one run, merged evidence ---------------------------------------------------------


def test_pytest_xdist_gives_one_run_with_merged_evidence_that_reaches_go(
    sandbox: SandboxHandle, control: ControlClient, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    env = {**clean_env(), STATE_ENV: str(sandbox.state_dir)}
    log = tmp_path / "xdist.log"
    sub = SubRun(ROOT, [], "xdist", reports_dir=reports, pytest_args=["-n", "2", "-p", "xdist"])

    code = sub.run(env=env, log=log, timeout_s=600)

    output = log.read_text(encoding="utf-8", errors="replace")
    assert code == 0, output[-3000:]
    assert [p.name for p in reports.iterdir() if not p.name.startswith(".")] == ["xdist"]  # one run folder
    run = reports / "xdist"
    for slug in SLUGS:
        summary = json.loads((run / "summary" / f"{slug}.json").read_text(encoding="utf-8"))
        assert summary["run_id"] == "xdist"
        outcomes = {s["outcome"] for s in summary["scenarios"]}
        assert outcomes == {"passed"} if slug == "sandbox-pilot" else outcomes <= {"passed", "skipped"}
        skipped = [s for s in summary["scenarios"] if s["outcome"] == "skipped"]
        assert all("Meta" in s["scenario"] for s in skipped), skipped  # only the provider path's
        assert len({s["nodeid"] for s in summary["scenarios"]}) == len(summary["scenarios"]) >= 49
        assert json.loads((run / "sql" / f"{slug}.json").read_text())["consistency_problems"] == {}
    monitor_after_run(root=ROOT, run_dir=run, organisations=list(SLUGS), env=env, say=print)
    built = build_run_evidence(
        run,
        signed_off_by=None,
        attest_file=EXAMPLE,
        secrets={value: name for name, value in planted_secrets(sandbox).items()},
        allure_cli=find_allure_cli(ROOT / DEFAULT_TOOLS_DIR, version=None),
        history_dir=reports / ".history",
    )
    assert built.exit_code == 0, (built.errors, [r.dossier.reasons for r in built.results])
    assert [r.verdict for r in built.results] == ["GO", "GO"]
