"""The pytest plugin, exercised on throwaway projects with pytester: profiles, the
organisation axis, capability tags, the production guard and unreachable targets."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from golive.sandbox.postgres import free_port
from golive.sandbox.servers import RunningServer, serve

CONFTEST = """
import pytest
from pytest_bdd import then

pytest_plugins = ["golive.runtime.plugin"]


@pytest.fixture
def crm(organisation, golive_targets):
    return golive_targets.clients(organisation.slug).crm


@then("the organisation's CRM answers")
def _(crm):
    assert crm.webhook_status()["status"] == "ok"
"""

FEATURE = """Feature: Demo
  @smoke
  Scenario: The organisation answers
    Then the organisation's CRM answers

  @needs_db
  Scenario: A scenario that needs the database
    Then the organisation's CRM answers

  @readonly
  Scenario: A read-only check
    Then the organisation's CRM answers
"""


def profile(base_url: str, *, environment: str = "staging", drop: str = "", extra: str = "") -> str:
    lines = [
        f'environment = "{environment}"',
        "[crm]",
        f'base_url = "{base_url}"',
        "timeout_ms = 3000",
        extra,
        "[chatwoot]",
        "account_id = 7",
        "inbox_whatsapp_id = 30",
        "inbox_instagram_id = 31",
        "[test]",
        'instagram_igsid = "17841400000000031"',
        'whatsapp_phone = "+5511987654321"',
    ]
    return "\n".join(line for line in lines if not (drop and line.startswith(drop))) + "\n"


@pytest.fixture(scope="module")
def fake_crm() -> Iterator[RunningServer]:
    async def status(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "status": "ok",
                "message": "Chatwoot webhook endpoint is active",
                "secretConfigured": False,
            }
        )

    server = serve("fake-crm", Starlette(routes=[Route("/api/chatwoot/webhook", status)]))
    yield server
    server.stop()


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.mkdir("features")
    pytester.mkdir("orgs")
    (pytester.path / "features" / "demo.feature").write_text(FEATURE)
    (pytester.path / "features" / "test_demo.py").write_text(
        "from pytest_bdd import scenarios\nscenarios('demo.feature')\n"
    )
    pytester.makeini("[pytest]\nbdd_features_base_dir = features\n")
    return pytester


def write_profile(project: pytest.Pytester, slug: str, text: str) -> None:
    (project.path / "orgs" / f"{slug}.toml").write_text(text)


def test_a_missing_required_setting_exits_2_with_one_line_naming_it(
    project: pytest.Pytester,
) -> None:
    write_profile(project, "acme", profile("http://127.0.0.1:9", drop="base_url"))
    result = project.runpytest_subprocess("features", "--org", "acme")
    assert result.ret == 2
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1, errors
    assert "crm.base_url" in errors[0] and "acme" in errors[0] and "acme.toml" in errors[0]
    assert "Traceback" not in "\n".join(result.outlines + result.errlines)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ('signature_mode = "md5"', "crm.signature_mode"),
        ('organization_id = "not-a-uuid"', "crm.organization_id"),
        ('api_key = "ncrm_literal_secret_in_file"', "api_key_env"),
        ('api_key_env = "GOLIVE_TEST_UNSET_VARIABLE"', "GOLIVE_TEST_UNSET_VARIABLE"),
    ],
)
def test_an_invalid_setting_exits_2_naming_it(project: pytest.Pytester, extra: str, named: str) -> None:
    write_profile(project, "acme", profile("http://127.0.0.1:9", extra=extra))
    result = project.runpytest_subprocess("features", "--org", "acme")
    assert result.ret == 2
    assert named in result.stderr.str()
    assert "ncrm_literal_secret_in_file" not in result.stderr.str() + result.stdout.str()


def test_the_runbook_variables_alone_define_a_profile(
    project: pytest.Pytester, fake_crm: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "SMOKE_BASE_URL": fake_crm.url,
        "SMOKE_CHATWOOT_ACCOUNT_ID": "7",
        "SMOKE_CHATWOOT_INBOX_WHATSAPP_ID": "30",
        "SMOKE_CHATWOOT_INBOX_INSTAGRAM_ID": "31",
        "SMOKE_INSTAGRAM_IGSID": "17841400000000031",
    }.items():
        monkeypatch.setenv(name, value)
    (project.path / ".env.smoke.local").write_text("SMOKE_WHATSAPP_PHONE='+5511987654321'\n")
    result = project.runpytest_subprocess("features", "--org", "runbook", "-rs")
    result.assert_outcomes(passed=2, skipped=1)
    (project.path / ".env.smoke.local").unlink()
    result = project.runpytest_subprocess("features", "--org", "runbook")
    assert result.ret == 2
    assert "SMOKE_WHATSAPP_PHONE" in result.stderr.str()


def test_each_scenario_runs_once_per_organisation(project: pytest.Pytester, fake_crm: RunningServer) -> None:
    write_profile(project, "acme", profile(fake_crm.url))
    write_profile(project, "globex", profile(fake_crm.url))
    result = project.runpytest_subprocess("features", "--org", "acme", "--org", "globex", "-v", "-rs")
    result.assert_outcomes(passed=4, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*test_the_organisation_answers?acme? PASSED*",
            "*test_the_organisation_answers?globex? PASSED*",
        ]
    )
    result.stdout.fnmatch_lines(["*no read-only database DSN*"])
    assert (project.path / "reports").is_dir()


def test_a_production_profile_is_refused_without_the_flag(
    project: pytest.Pytester, fake_crm: RunningServer
) -> None:
    write_profile(project, "live", profile(fake_crm.url, environment="production"))
    result = project.runpytest_subprocess("features", "--org", "live")
    assert result.ret == 2
    assert "production" in result.stderr.str() and "--allow-production" in result.stderr.str()


def test_with_the_flag_only_readonly_scenarios_run_against_production(
    project: pytest.Pytester, fake_crm: RunningServer
) -> None:
    write_profile(project, "live", profile(fake_crm.url, environment="production"))
    result = project.runpytest_subprocess("features", "--org", "live", "--allow-production")
    result.assert_outcomes(passed=1, deselected=2)


def test_an_unreachable_target_stops_the_run_before_any_scenario_with_one_line(
    project: pytest.Pytester,
) -> None:
    port = free_port()
    write_profile(project, "gone", profile(f"http://127.0.0.1:{port}"))
    started = time.monotonic()
    result = project.runpytest_subprocess("features", "--org", "gone")
    assert time.monotonic() - started < 30
    assert result.ret == 2
    problems = [line for line in result.errlines if line.startswith("golive: gone:")]
    assert len(problems) == 1, result.errlines
    assert f"cannot reach the CRM at http://127.0.0.1:{port}" in problems[0]
    assert "crm.base_url" in problems[0]
    output = "\n".join(result.outlines + result.errlines)
    assert (
        "Traceback" not in output
        and "passed" not in output
        and "failed" not in output.replace("preflight failed", "")
    )


def test_without_preflight_an_unreachable_target_fails_its_scenarios_with_the_reason(
    project: pytest.Pytester,
) -> None:
    write_profile(project, "gone", profile(f"http://127.0.0.1:{free_port()}"))
    result = project.runpytest_subprocess("features", "--org", "gone", "--no-preflight")
    result.assert_outcomes(errors=2, skipped=1)
    result.stdout.fnmatch_lines(["*target unreachable*cannot reach the target*check the URL*"])


def test_an_unknown_organisation_lists_the_known_ones(project: pytest.Pytester) -> None:
    write_profile(project, "acme", profile("http://127.0.0.1:9"))
    result = project.runpytest_subprocess("features", "--org", "initech")
    assert result.ret == 2
    assert "unknown organisation 'initech'" in result.stderr.str() and "acme" in result.stderr.str()


UI_FEATURE = """Feature: Screens
  @ui @needs_ui
  Scenario: A screen of the CRM
    Then the organisation's CRM answers
"""


@pytest.mark.parametrize(
    ("ui_section", "env", "reason"),
    [
        ("", {}, "no QA user for the CRM's web app"),
        (
            '[ui]\nuser = "qa@acme.example"\npassword_env = "ACME_QA_PASSWORD"\n',
            {"ACME_QA_PASSWORD": "qa-password-123", "GOLIVE_BROWSER": "/nonexistent/chromium"},
            "GOLIVE_BROWSER=/nonexistent/chromium is not an executable file",
        ),
    ],
)
def test_ui_scenarios_are_skipped_with_the_reason_when_a_user_or_a_browser_is_missing(
    project: pytest.Pytester,
    fake_crm: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
    ui_section: str,
    env: dict[str, str],
    reason: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (project.path / "features" / "ui.feature").write_text(UI_FEATURE)
    (project.path / "features" / "test_ui.py").write_text(
        "from pytest_bdd import scenarios\nscenarios('ui.feature')\n"
    )
    write_profile(project, "acme", profile(fake_crm.url) + ui_section)

    result = project.runpytest_subprocess("features/test_ui.py", "--org", "acme", "-rs")

    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([f"*acme: {reason}*"])
