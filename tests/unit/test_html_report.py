"""Tests of golive.evidence.html_report: sanitising, scanning, and Allure 3 generation."""

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

from golive.evidence import html_report
from golive.evidence.html_report import (
    ReportOutcome,
    embedded_report_files,
    find_allure_cli,
    find_external_links,
    find_external_references,
    generate_report,
    install_allure,
    strip_external_resources,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_TOOLS_DIR = REPO_ROOT / html_report.DEFAULT_TOOLS_DIR

# What Allure 3.18's awesome template emits (plugin-awesome/dist/generators.js).
GTM_SNIPPET = """
    <script async src="https://www.googletagmanager.com/gtag/js?id=G-LNDJ3J7WT0"></script>
    <script>
        window.dataLayer = window.dataLayer || [];
        function gtag(){dataLayer.push(arguments);}
        gtag('js', new Date());
        gtag('config', 'G-LNDJ3J7WT0', {
          "report": "awesome",
          "allureVersion": "3.18.0",
          "reportUuid": "97aa38b8-41e3-46eb-b392-34154fa026bb",
          "single_file": "true"
        });
    </script>
"""
APP_JS = 'window.allure = window.allure || {}; document.getElementById("app").textContent = "ok";'
APP_BUNDLE = "data:text/javascript;base64," + base64.b64encode(APP_JS.encode()).decode()
OPTIONS_SCRIPT = (
    "<script>\n      window.allureReportOptions = "
    '{"reportName":"Org \\u003C1\\u003E","ci":{"jobUrl":"https://ci.example.test/job/1"}}\n'
    "    </script>"
)
DATA_FILE = base64.b64encode(json.dumps({"name": "Login succeeds"}).encode()).decode()
DATA_SCRIPT = f'<script defer>Promise.allSettled([d("data/test-results/a.json","{DATA_FILE}")])</script>'


def allure_like_page(extra_body: str = GTM_SNIPPET) -> str:
    return f"""<!DOCTYPE html>
<html dir="ltr" lang="en">
<head>
    <meta charset="utf-8">
    <title> Org X </title>
    <link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'%3E%3C/svg%3E">
    <style>.loader {{ background: #f7f8fb; }}</style>
    {OPTIONS_SCRIPT}
</head>
<body>
    <svg viewBox="0 0 32 32" xmlns="http://www.w3.org/2000/svg"><path fill="url(#a)"/></svg>
    <div id="app"></div>
    <script src="{APP_BUNDLE}"></script>
    {extra_body}
    {DATA_SCRIPT}
</body>
</html>
"""


# --------------------------------------------------------------------------- stripping


def test_gtm_snippet_is_removed_and_app_scripts_are_kept() -> None:
    page = allure_like_page()
    assert find_external_references(page)  # precondition: the tracker is seen

    clean, removed = strip_external_resources(page)

    assert "googletagmanager" not in clean
    assert "gtag(" not in clean
    assert "dataLayer" not in clean
    assert find_external_references(clean) == []
    assert len(removed) == 2
    assert any("googletagmanager" in item for item in removed)
    # The application itself survives byte for byte.
    assert f'<script src="{APP_BUNDLE}"></script>' in clean
    assert OPTIONS_SCRIPT in clean
    assert DATA_SCRIPT in clean
    assert '<div id="app"></div>' in clean
    assert clean.rstrip().endswith("</html>")


def test_stripping_a_clean_page_changes_nothing() -> None:
    page = allure_like_page(extra_body="")
    clean, removed = strip_external_resources(page)
    assert clean == page
    assert removed == []
    assert strip_external_resources(clean)[0] == clean


def test_other_trackers_and_remote_resources_are_removed() -> None:
    body = """
    <noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-X"></iframe></noscript>
    <script src="//cdn.example.test/lib.js"></script>
    <script>navigator.sendBeacon("/collect", "x")</script>
    <link rel="stylesheet" href="https://fonts.example.test/css">
    <link rel="preconnect" href="https://www.google-analytics.com">
    <img src="https://pixel.example.test/p.gif" width="1" height="1">
    <iframe src="https://embed.example.test/"></iframe>
    <a href="https://allurereport.org" ping="https://track.example.test/ping">Powered by</a>
    <div style="background: url('https://img.example.test/bg.png')">x</div>
    <style>
      @import url("https://fonts.example.test/a.css");
      .b { background: url(//img.example.test/b.png) }
    </style>
    """
    clean, removed = strip_external_resources(allure_like_page(extra_body=body))

    assert find_external_references(clean) == [], clean
    assert "example.test/" not in clean.replace("https://allurereport.org", "").replace(
        "https://ci.example.test/job/1", ""
    )
    # The plain link stays a link; only its ping beacon went away.
    assert '<a href="https://allurereport.org" >Powered by</a>' in clean
    assert len(removed) >= 10


def test_tracker_inside_the_app_bundle_is_reported_not_cut() -> None:
    bundle_js = 'var s=document.createElement("script");s.src="https://www.googletagmanager.com/gtm.js";'
    bundle = "data:text/javascript;base64," + base64.b64encode(bundle_js.encode()).decode()
    page = allure_like_page(extra_body=f'<script src="{bundle}"></script>')

    clean, _ = strip_external_resources(page)

    assert bundle in clean  # cutting the bundle would break the report
    findings = find_external_references(clean)
    assert any("googletagmanager" in item for item in findings)
    assert all("data:text/javascript" in item for item in findings)


# --------------------------------------------------------------------------- scanning


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ('<script src="https://cdn.example.test/a.js"></script>', "script[src]: https://cdn"),
        ("<script src=//cdn.example.test/a.js></script>", "script[src]: //cdn"),
        ('<link rel="stylesheet" href="http://cdn.example.test/a.css">', "link[href]: http://"),
        ("<img src='https://img.example.test/a.png'>", "img[src]: https://img"),
        ('<img srcset="a.png 1x, https://img.example.test/b.png 2x">', "img[srcset]: https://"),
        ('<iframe src="https://embed.example.test/"></iframe>', "iframe[src]: https://embed"),
        ('<video poster="https://img.example.test/p.png"></video>', "video[poster]: https://"),
        ('<meta http-equiv="refresh" content="0; url=https://x.example.test/">', "meta[content]"),
        ("<style>body{background:url(https://img.example.test/a.png)}</style>", "css url()"),
        ("<style>@import 'https://fonts.example.test/a.css';</style>", "css @import"),
        ('<div style="background:url(&quot;//img.example.test/a.png&quot;)"></div>', "css url()"),
        ('<script>fetch("https://api.example.test/v1")</script>', "js load: https://api"),
        ("<script>import('https://cdn.example.test/m.js')</script>", "js load: https://cdn"),
        ('<script>i.src="https://px.example.test/p.gif"</script>', "js .src=: https://px"),
        ("<script>gtag('config', 'G-1')</script>", "tracker: gtag("),
        ("<script>window.dataLayer = []</script>", "tracker: dataLayer"),
        ("<script>/* www.google-analytics.com */</script>", "tracker: google-analytics"),
        ('<a href="/x" ping="https://t.example.test/">x</a>', "a[ping]: https://t"),
    ],
)
def test_find_external_references_catches(snippet: str, expected: str) -> None:
    findings = find_external_references(f"<html><body>{snippet}</body></html>")
    assert any(expected in item for item in findings), findings


@pytest.mark.parametrize(
    "snippet",
    [
        '<a href="https://allurereport.org">Powered by Allure</a>',
        '<area href="https://x.example.test/" shape="rect">',
        '<form action="https://x.example.test/submit"></form>',
        '<svg xmlns="http://www.w3.org/2000/svg"><path fill="url(#a)"/></svg>',
        '<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns=%27http://www.w3.org/2000/svg%27/%3E">',
        '<img src="data:image/png;base64,iVBORw0KGgo=">',
        '<script src="app.js"></script><link rel="stylesheet" href="styles.css">',
        "<p>See https://docs.example.test/page for details.</p>",
        "<!-- <script src=https://old.example.test/a.js></script> -->",
        '<script>const ns = "http://www.w3.org/2000/svg"; fetch(`data/${id}.json`)</script>',
        '<textarea><script src="https://x.example.test/a.js"></script></textarea>',
    ],
)
def test_find_external_references_ignores_non_loads(snippet: str) -> None:
    assert find_external_references(f"<html><body>{snippet}</body></html>") == []


def test_text_links_are_listed_separately() -> None:
    page = (
        '<a href="https://allurereport.org">A</a><a href="#top">B</a>'
        '<form action="https://x.example.test/s"></form><img src="https://i.example.test/a.png">'
    )
    assert find_external_links(page) == [
        "a[href]: https://allurereport.org",
        "form[action]: https://x.example.test/s",
    ]
    assert find_external_references(page) == ["img[src]: https://i.example.test/a.png"]


def test_embedded_evidence_is_decoded_and_scanned() -> None:
    attachment = b'<html><body><img src="https://crm.example.test/logo.png"></body></html>'
    result = {"name": "T", "descriptionHtml": '<img src="https://d.example.test/x.png">'}
    calls = ",".join(
        f'd("{name}","{base64.b64encode(payload).decode()}")'
        for name, payload in [
            ("data/attachments/1.html", attachment),
            ("data/test-results/1.json", json.dumps(result).encode()),
            ("data/attachments/2.txt", b"https://plain.example.test/ is text"),
        ]
    )
    page = f"<html><body><script defer>Promise.allSettled([{calls}])</script></body></html>"

    files = embedded_report_files(page)
    assert files["data/attachments/1.html"] == attachment
    assert json.loads(files["data/test-results/1.json"])["name"] == "T"

    assert find_external_references(page, include_embedded=False) == []
    findings = find_external_references(page)
    assert len(findings) == 2
    assert "data/attachments/1.html" in findings[0]
    assert "https://crm.example.test/logo.png" in findings[0]
    assert "descriptionHtml" in findings[1]


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
    assert html_report.main(["check", str(clean)]) == 0
    assert html_report.main(["check", str(dirty)]) == 1
    assert "googletagmanager" in capsys.readouterr().out


# --------------------------------------------------------------------------- real Allure 3

requires_allure = pytest.mark.skipif(
    find_allure_cli(PROJECT_TOOLS_DIR) is None or shutil.which("node") is None,
    reason=(
        f"Allure {html_report.ALLURE_VERSION} CLI not installed in {html_report.DEFAULT_TOOLS_DIR} "
        "(run `python -m golive.evidence.html_report install`) or node missing"
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
