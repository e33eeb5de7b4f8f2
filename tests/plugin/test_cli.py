"""The `golive` command: exit codes and messages a CI job and a person rely on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLIVE = [sys.executable, "-c", "from golive.commands.cli import main; main()"]


def golive(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GOLIVE, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_check_config_names_a_missing_secret_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "features").mkdir()
    (tmp_path / "orgs").mkdir()
    profile = (ROOT / "orgs" / "example-staging.toml").read_text()
    (tmp_path / "orgs" / "coronel.toml").write_text(profile)
    result = golive("check-config", "--org", "coronel", cwd=tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "CORONEL_CRM_API_KEY" in lines[0]
    assert "Traceback" not in result.stderr


def test_check_config_reports_missing_capabilities(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "features").mkdir()
    (tmp_path / "orgs").mkdir()
    (tmp_path / "orgs" / "bare.toml").write_text(
        '[crm]\nbase_url = "https://crm.example.com"\n[chatwoot]\naccount_id = 7\n'
        "inbox_whatsapp_id = 30\ninbox_instagram_id = 31\n[test]\n"
        'instagram_igsid = "17841400000000031"\nwhatsapp_phone = "+5511987654321"\n'
    )
    result = golive("check-config", "--org", "bare", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "bare: settings ok" in result.stdout and "without db" in result.stdout
    assert "golive preflight --org bare" in result.stdout  # it says what it did not check


def test_n8n_lint_exit_codes_follow_the_findings() -> None:
    ok = golive("n8n-lint", "fixtures/n8n/agent-v2.json")
    assert ok.returncode == 0, ok.stdout
    broken = golive("n8n-lint", "--json", "fixtures/n8n/nonconformant/r2-deal-id-from-ai.json")
    assert broken.returncode == 1
    failed = [f for f in json.loads(broken.stdout) if f["verdict"] == "fail"]
    assert {f["rule"] for f in failed} == {"R2"} and all(f["node"] for f in failed)
    missing = golive("n8n-lint", "fixtures/n8n/no-such-file.json")
    assert missing.returncode == 2 and "no-such-file.json" in missing.stderr


def test_an_unknown_kill_matrix_fault_is_a_clear_error() -> None:
    result = golive("kill-matrix", "--fault", "no-such-fault")
    assert result.returncode == 2
    assert "unknown fault" in result.stderr and "wa-new-contact" in result.stderr


def test_preflight_names_an_unreachable_crm_in_one_line_and_exits_2(tmp_path: Path) -> None:
    from golive.sandbox.postgres import free_port

    (tmp_path / "features").mkdir()
    (tmp_path / "orgs").mkdir()
    url = f"http://127.0.0.1:{free_port()}"
    (tmp_path / "orgs" / "acme.toml").write_text(
        f'[crm]\nbase_url = "{url}"\ntimeout_ms = 2000\n[chatwoot]\naccount_id = 7\n'
        "inbox_whatsapp_id = 30\ninbox_instagram_id = 31\n[test]\n"
        'instagram_igsid = "17841400000000031"\nwhatsapp_phone = "+5511987654321"\n'
    )

    result = golive("preflight", "--org", "acme", "--org", "acme", cwd=tmp_path)

    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    refused = "(ConnectError: [Errno 111] Connection refused)"
    where = tmp_path / "orgs" / "acme.toml"
    assert lines == [f"golive: acme: cannot reach the CRM at {url} {refused}; check crm.base_url in {where}"]
    assert result.stdout.count("✗ acme") == 1  # --org twice is one organisation


def test_evidence_for_a_run_without_organisations_exits_2(tmp_path: Path) -> None:
    (tmp_path / "features").mkdir()
    (tmp_path / "orgs").mkdir()
    (tmp_path / "reports" / "20261130T090000Z-abcd" / "summary").mkdir(parents=True)

    result = golive("evidence", cwd=tmp_path)

    assert result.returncode == 2
    assert "has no organisation to give evidence for" in result.stderr and "Traceback" not in result.stderr
