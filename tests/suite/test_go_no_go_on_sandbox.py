"""The Go/No-Go decision on real runs: a clean sandbox organisation gets GO with the example
attestations and its monitoring window; errors after the run turn it into NO-GO; with a fault
from the kill matrix it gets NO-GO naming the failed scenario."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from golive.clients.control import ControlClient
from golive.clients.http import build_client
from golive.commands.monitor import monitor_after_run
from golive.commands.subrun import SubRun
from golive.config import load_profile_file
from golive.evidence.allure_cli import DEFAULT_TOOLS_DIR, find_allure_cli
from golive.evidence.build import build_run_evidence
from golive.runtime.sandbox_process import STATE_ENV, SandboxHandle

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ORG = "sandbox-pilot"


@pytest.fixture
def control(sandbox: SandboxHandle) -> Iterator[ControlClient]:
    profile = load_profile_file(sandbox.profiles_dir / f"{ORG}.toml", {**os.environ, **sandbox.secrets})
    assert profile.control_url and profile.control_token
    http = build_client(
        "control",
        base_url=profile.control_url,
        timeout=30,
        headers={"X-Golive-Control-Token": profile.control_token.reveal()},
    )
    client = ControlClient(http=http, organisation=ORG)
    client.reset()
    yield client
    client.reset()
    http.close()


def run_and_watch(sandbox: SandboxHandle, reports: Path, run_id: str) -> None:
    """The suite, then the window after it (the sandbox profile's short one), as `golive smoke`."""
    env = {**os.environ, STATE_ENV: str(sandbox.state_dir)}
    SubRun(ROOT, [ORG], run_id, reports_dir=reports).run(
        env=env, log=reports / f"{run_id}.log", timeout_s=600
    )
    watch(sandbox, reports, run_id)


def watch(sandbox: SandboxHandle, reports: Path, run_id: str, start: datetime | None = None) -> None:
    env = {**os.environ, STATE_ENV: str(sandbox.state_dir)}
    monitored = monitor_after_run(
        root=ROOT, run_dir=reports / run_id, organisations=[ORG], env=env, say=lambda _: None, start=start
    )
    assert ORG in monitored


def verdict_of(sandbox: SandboxHandle, reports: Path, run_id: str) -> tuple[str, list[dict[str, str]]]:
    built = build_run_evidence(
        reports / run_id,
        [ORG],
        signed_off_by="golive tests",
        attest_file=ROOT / "fixtures" / "attestations" / "example.toml",
        secrets={value: name for name, value in sandbox.secrets.items()},
        allure_cli=find_allure_cli(ROOT / DEFAULT_TOOLS_DIR, version=None),
        history_dir=reports / ".history",
    )
    assert not built.errors and not built.leaks, (built.errors, built.leaks)
    (result,) = built.results
    assert result.bundle.is_file()
    dossier = json.loads((result.evidence_dir / "dossier.json").read_text())
    return result.verdict, dossier["reasons"]


def test_a_clean_run_is_go_and_a_fault_is_no_go_naming_the_scenario(
    sandbox: SandboxHandle, control: ControlClient, tmp_path: Path
) -> None:
    run_and_watch(sandbox, tmp_path, "clean")
    verdict, reasons = verdict_of(sandbox, tmp_path, "clean")
    assert verdict == "GO", reasons

    control.set_faults(["errors-after-run"])  # breaks after the green run
    watch(sandbox, tmp_path, "clean", start=datetime.now(UTC))
    control.set_faults([])
    verdict, reasons = verdict_of(sandbox, tmp_path, "clean")
    assert verdict == "NO-GO" and [r["code"] for r in reasons] == ["monitoring_critical"], reasons
    assert "identity-resolution failures" in reasons[0]["message"]

    control.reset()  # the legacy customer must meet the fault without an identity yet
    control.set_faults(["wa-new-contact"])
    run_and_watch(sandbox, tmp_path, "faulty")
    verdict, reasons = verdict_of(sandbox, tmp_path, "faulty")
    assert verdict == "NO-GO"
    text = json.dumps(reasons)
    assert "A known customer writes on WhatsApp" in text
    assert "whatsapp_regression" in {r.get("code") for r in reasons}, reasons
