"""Tests of golive.evidence.allure_cli: installing the Allure 3 CLI and generating the report."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
from allure_pages import allure_like_page

from golive.evidence import allure_cli
from golive.evidence.allure_cli import (
    ReportOutcome,
    find_allure_cli,
    generate_report,
    install_allure,
)
from golive.evidence.offline_html import embedded_report_files, find_external_references

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_TOOLS_DIR = REPO_ROOT / allure_cli.DEFAULT_TOOLS_DIR


# --------------------------------------------------------------------------- generate_report


def test_generate_without_cli_warns_and_keeps_raw_results(tmp_path: Path) -> None:
    outcome = generate_report(
        tmp_path / "allure-results",
        tmp_path / "report",
        report_name="Org X",
        history_file=tmp_path / "history" / "history.jsonl",
        allure_cli=None,
    )
    assert isinstance(outcome, ReportOutcome)
    assert outcome.html is None
    assert outcome.stripped == []
    assert len(outcome.warnings) == 1
    assert "raw Allure results are kept" in outcome.warnings[0]
    assert "install" in outcome.warnings[0]
    assert not (tmp_path / "report").exists()


def test_generate_without_node_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    outcome = generate_report(
        tmp_path,
        tmp_path / "report",
        report_name="Org X",
        history_file=tmp_path / "h.jsonl",
        allure_cli=tmp_path / "allure",
    )
    assert outcome.html is None
    assert "node" in outcome.warnings[0]


def _fake_cli(tmp_path: Path, body: str) -> Path:
    """A stand-in for the Allure CLI: a shell script (run directly, not via node)."""
    script = tmp_path / "fake-allure"
    script.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def node_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """generate_report checks for node; the fake CLIs below do not need it."""
    real_which = shutil.which

    def which(name: str) -> str | None:
        found = real_which(name)
        return (found or "/usr/bin/node") if name == "node" else found

    monkeypatch.setattr(shutil, "which", which)


# The fake CLI finds "--output DIR" in its arguments and writes index.html there.
_WRITE_PAGE = """
while [ "$#" -gt 0 ]; do
  if [ "$1" = "--output" ]; then out="$2"; fi
  shift
done
mkdir -p "$out"
cat > "$out/index.html" <<'HTML'
{page}
HTML
echo '{{"stats":{{"total":1}}}}' > "$out/summary.json"
"""


@pytest.mark.usefixtures("node_on_path")
def test_generate_strips_trackers_from_what_the_cli_wrote(tmp_path: Path) -> None:
    cli = _fake_cli(tmp_path, _WRITE_PAGE.format(page=allure_like_page()))
    (tmp_path / "results").mkdir()
    report_dir = tmp_path / "report"
    report_dir.mkdir()
    (report_dir / "keep.txt").write_text("other evidence", encoding="utf-8")

    outcome = generate_report(
        tmp_path / "results",
        report_dir,
        report_name="Org X",
        history_file=tmp_path / "history" / "history.jsonl",
        allure_cli=cli,
    )

    assert outcome.html == report_dir / "index.html"
    assert outcome.warnings == []
    assert len(outcome.stripped) == 2
    text = outcome.html.read_text(encoding="utf-8")
    assert "googletagmanager" not in text
    assert find_external_references(text) == []
    assert (report_dir / "summary.json").is_file()
    assert (report_dir / "keep.txt").read_text(encoding="utf-8") == "other evidence"
    assert sorted(p.name for p in report_dir.iterdir()) == [
        "index.html",
        "keep.txt",
        "summary.json",
    ]


@pytest.mark.usefixtures("node_on_path")
def test_generate_withholds_a_report_it_cannot_clean(tmp_path: Path) -> None:
    js = 'var s=document.createElement("script");s.src="https://www.googletagmanager.com/gtm.js"'
    bundle = "data:text/javascript;base64," + base64.b64encode(js.encode()).decode()
    page = allure_like_page(extra_body=f'<script src="{bundle}"></script>')
    cli = _fake_cli(tmp_path, _WRITE_PAGE.format(page=page))
    (tmp_path / "results").mkdir()

    outcome = generate_report(
        tmp_path / "results",
        tmp_path / "report",
        report_name="Org X",
        history_file=tmp_path / "h.jsonl",
        allure_cli=cli,
    )

    assert outcome.html is None
    assert "still references external resources" in outcome.warnings[0]
    assert "raw Allure results are kept" in outcome.warnings[0]
    assert not (tmp_path / "report" / "index.html").exists()


@pytest.mark.usefixtures("node_on_path")
def test_generate_reports_a_failing_cli(tmp_path: Path) -> None:
    cli = _fake_cli(tmp_path, "echo 'Error: cannot read results' >&2\nexit 3\n")
    (tmp_path / "results").mkdir()
    outcome = generate_report(
        tmp_path / "results",
        tmp_path / "report",
        report_name="Org X",
        history_file=tmp_path / "h.jsonl",
        allure_cli=cli,
    )
    assert outcome.html is None
    assert not (tmp_path / "report").exists()
    assert "exited with 3" in outcome.warnings[0]
    assert "cannot read results" in outcome.warnings[0]


@pytest.mark.usefixtures("node_on_path")
def test_generate_kills_a_hanging_cli(tmp_path: Path) -> None:
    cli = _fake_cli(tmp_path, "sleep 30\n")
    (tmp_path / "results").mkdir()
    started = time.monotonic()
    outcome = generate_report(
        tmp_path / "results",
        tmp_path / "report",
        report_name="Org X",
        history_file=tmp_path / "h.jsonl",
        allure_cli=cli,
        timeout_s=0.5,
    )
    assert time.monotonic() - started < 10
    assert outcome.html is None
    assert "timed out" in outcome.warnings[0]


# --------------------------------------------------------------------------- install


def test_install_without_npm_returns_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    assert install_allure(tmp_path / "tools") is None
    assert not (tmp_path / "tools").exists()


def _fake_installation(tools_dir: Path, version: str) -> Path:
    package = tools_dir / "node_modules" / "allure"
    package.mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"version": version}), encoding="utf-8")
    cli = tools_dir / "node_modules" / ".bin" / "allure"
    cli.parent.mkdir(parents=True)
    cli.write_text("#!/usr/bin/env node\n", encoding="utf-8")
    return cli


def test_install_is_a_no_op_when_the_version_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = _fake_installation(tmp_path / "tools", "3.18.0")
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")

    def no_npm(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("npm must not run")

    monkeypatch.setattr(subprocess, "run", no_npm)
    assert install_allure(tmp_path / "tools", version="3.18.0") == cli
    assert find_allure_cli(tmp_path / "tools", version="3.18.0") == cli
    assert find_allure_cli(tmp_path / "tools", version="3.19.0") is None
    assert find_allure_cli(tmp_path / "tools", version=None) == cli
    assert find_allure_cli(tmp_path / "elsewhere") is None


def test_main_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dirty = tmp_path / "dirty.html"
    dirty.write_text(allure_like_page(), encoding="utf-8")
    clean = tmp_path / "clean.html"
    clean.write_text(allure_like_page(extra_body=""), encoding="utf-8")
    assert allure_cli.main(["check", str(clean)]) == 0
    assert allure_cli.main(["check", str(dirty)]) == 1
    assert "googletagmanager" in capsys.readouterr().out


# --------------------------------------------------------------------------- real Allure 3

requires_allure = pytest.mark.skipif(
    find_allure_cli(PROJECT_TOOLS_DIR) is None or shutil.which("node") is None,
    reason=(
        f"Allure {allure_cli.ALLURE_VERSION} CLI not installed in {allure_cli.DEFAULT_TOOLS_DIR} "
        "(run `python -m golive.evidence.allure_cli install`) or node missing"
    ),
)


def _write_result(results: Path, uid: str, name: str, status: str, **extra: object) -> None:
    result: dict[str, object] = {
        "uuid": uid,
        "historyId": f"h-{uid}",
        "testCaseId": f"t-{uid}",
        "name": name,
        "fullName": f"features/demo.feature:{name}",
        "status": status,
        "stage": "finished",
        "start": 1_700_000_000_000,
        "stop": 1_700_000_001_000,
        "labels": [{"name": "feature", "value": "Demo"}, {"name": "tag", "value": "smoke"}],
        "steps": [
            {
                "name": "Given a CRM contact",
                "status": status,
                "stage": "finished",
                "start": 1_700_000_000_000,
                "stop": 1_700_000_000_500,
            }
        ],
        **extra,
    }
    (results / f"{uid}-result.json").write_text(json.dumps(result), encoding="utf-8")


@pytest.fixture
def tiny_results(tmp_path: Path) -> Path:
    results = tmp_path / "allure-results"
    results.mkdir()
    _write_result(results, "0a1b2c3d-0000-4000-8000-000000000001", "Login succeeds", "passed")
    _write_result(
        results,
        "0a1b2c3d-0000-4000-8000-000000000002",
        "Webhook rejects a bad signature",
        "failed",
        statusDetails={"message": "expected 401, got 200", "trace": "AssertionError"},
    )
    return results


def _embedded_test_names(html_text: str) -> set[str]:
    return {
        json.loads(payload)["name"]
        for name, payload in embedded_report_files(html_text).items()
        if name.startswith("data/test-results/")
    }


@pytest.mark.slow
@requires_allure
def test_real_allure_report_is_single_file_offline_and_keeps_history(
    tiny_results: Path, tmp_path: Path
) -> None:
    cli = find_allure_cli(PROJECT_TOOLS_DIR)
    history = tmp_path / "history" / "org-x.jsonl"

    first = generate_report(
        tiny_results,
        tmp_path / "report-1",
        report_name="Org X go-live",
        history_file=history,
        allure_cli=cli,
    )

    assert first.warnings == []
    assert first.html is not None and first.html.is_file()
    text = first.html.read_text(encoding="utf-8")
    assert "<title> Org X go-live </title>" in text
    assert _embedded_test_names(text) == {"Login succeeds", "Webhook rejects a bad signature"}
    assert find_external_references(text) == []
    assert "googletagmanager" not in text
    assert any("googletagmanager" in item for item in first.stripped)
    assert sorted(p.name for p in first.html.parent.iterdir()) == ["index.html", "summary.json"]
    assert len(history.read_text(encoding="utf-8").splitlines()) == 1

    second = generate_report(
        tiny_results,
        tmp_path / "report-2",
        report_name="Org X go-live",
        history_file=history,
        allure_cli=cli,
    )

    assert second.html is not None
    assert find_external_references(second.html.read_text(encoding="utf-8")) == []
    lines = history.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert all(json.loads(line)["name"] == "Org X go-live" for line in lines)


@pytest.mark.slow
@requires_allure
def test_real_allure_report_flags_external_evidence(tiny_results: Path, tmp_path: Path) -> None:
    uid = "0a1b2c3d-0000-4000-8000-000000000003"
    (tiny_results / f"{uid}-attachment.html").write_text(
        '<html><body><img src="https://crm.example.test/logo.png"></body></html>',
        encoding="utf-8",
    )
    _write_result(
        tiny_results,
        uid,
        "Page snapshot",
        "passed",
        attachments=[
            {"name": "page", "source": f"{uid}-attachment.html", "type": "text/html"},
        ],
    )
    hostile_name = 'Org </script><script src="https://evil.example.test/x.js"></script>'

    outcome = generate_report(
        tiny_results,
        tmp_path / "report",
        report_name=hostile_name,
        history_file=tmp_path / "history.jsonl",
        allure_cli=find_allure_cli(PROJECT_TOOLS_DIR),
    )

    assert outcome.html is not None  # evidence is kept, with a warning
    text = outcome.html.read_text(encoding="utf-8")
    assert find_external_references(text, include_embedded=False) == []
    findings = find_external_references(text)
    assert findings and all("crm.example.test" in item for item in findings)
    assert "crm.example.test" in outcome.warnings[0]
    assert os.path.getsize(outcome.html) > 100_000
