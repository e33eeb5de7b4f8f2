"""Whole runs of the plugin on throwaway projects (pytester): no vacuous PASS, one run under
pytest-xdist, --lf, the preflight's one line, readable step parameters, and the scenarios a
target cannot run marked for a person to attest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from golive.sandbox.servers import RunningServer, serve

GOOD_KEY = "ncrm_plugin_good_key_00000000000000000"
ORG_ID = "6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e6c1a37"

CONFTEST = """
import os

import pytest
from pytest_bdd import parsers, then

pytest_plugins = ["golive.runtime.plugin"]


@pytest.fixture
def crm(organisation, golive_targets):
    return golive_targets.clients(organisation.slug).crm


@then("the organisation's CRM answers")
def _(crm):
    assert crm.webhook_status()["status"] == "ok"


@then(parsers.parse("the CRM answers {times:d} times"))
def _(crm, times):
    for _ in range(times):
        assert crm.webhook_status()["status"] == "ok"


@then("the scenario fails while GOLIVE_TEST_FAIL is set")
def _(crm):
    assert not os.environ.get("GOLIVE_TEST_FAIL"), "told to fail"
"""

FEATURE = """Feature: Demo
  @smoke
  Scenario: The organisation answers
    Then the organisation's CRM answers

  @smoke @needs_db
  Scenario: A mandatory scenario that needs the database
    Then the organisation's CRM answers

  @regression
  Scenario Outline: A step with a parameter
    Then the CRM answers <times> times

    Examples:
      | times |
      | 1     |
      | 2     |

  @smoke @needs_other_organisation
  Scenario: Tenants stay apart
    Then the organisation's CRM answers

  @regression
  Scenario: A scenario that can be told to fail
    Then the scenario fails while GOLIVE_TEST_FAIL is set
"""


@pytest.fixture(scope="module")
def fake_crm() -> Iterator[RunningServer]:
    async def status(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "secretConfigured": False})

    async def post(request: Request) -> JSONResponse:
        return JSONResponse({"success": True, "ignored": "no_matching_tenant"})

    async def me(request: Request) -> JSONResponse:
        if request.headers.get("x-api-key") != GOOD_KEY:
            return JSONResponse({"error": "Invalid API key", "code": "AUTH_INVALID"}, status_code=401)
        data = {"organization_id": ORG_ID, "organization_name": "Acme Ltda", "api_key_prefix": "ncrm_plugin"}
        return JSONResponse({"data": data})

    app = Starlette(
        routes=[
            Route("/api/chatwoot/webhook", status, methods=["GET"]),
            Route("/api/chatwoot/webhook", post, methods=["POST"]),
            Route("/api/public/v1/me", me, methods=["GET"]),
        ]
    )
    server = serve("fake-crm", app)
    yield server
    server.stop()


def profile(base_url: str, *, extra: str = "") -> str:
    return "\n".join(
        [
            'environment = "staging"',
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
    )


@pytest.fixture
def project(pytester: pytest.Pytester, fake_crm: RunningServer) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    for folder in ("features", "orgs"):
        pytester.mkdir(folder)
    (pytester.path / "features" / "demo.feature").write_text(FEATURE)
    (pytester.path / "features" / "test_demo.py").write_text(
        "from pytest_bdd import scenarios\nscenarios('demo.feature')\n"
    )
    pytester.makeini("[pytest]\nbdd_features_base_dir = features\n")
    for slug in ("acme", "globex"):
        (pytester.path / "orgs" / f"{slug}.toml").write_text(profile(fake_crm.url))
    return pytester


def run_dirs(project: pytest.Pytester) -> list[Path]:
    return sorted(
        p for p in (project.path / "reports").iterdir() if p.is_dir() and not p.name.startswith(".")
    )


def summary(run: Path, slug: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run / "summary" / f"{slug}.json").read_text())
    return data


def test_a_run_with_mandatory_scenarios_skipped_is_not_a_pass(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("features", "--org", "acme", "-k", "not fail")

    assert result.ret == 1  # nothing failed, but the run proves less than it must
    result.stdout.fnmatch_lines(
        [
            "NOT PROVEN  acme: 3 passed, 0 failed, 2 skipped*",
            "*2 mandatory scenario(s) did not run, so acme is not proven:*",
            "*⏭ 1× no read-only database DSN (set database.dsn_env in*",
            "*⏭ 1× no second organisation*(a person can attest it)*",
        ]
    )
    assert "PASS  acme" not in result.stdout.str().replace("NOT PROVEN", "")


def test_a_scenario_the_target_cannot_run_is_marked_for_a_person_to_attest(project: pytest.Pytester) -> None:
    project.runpytest_subprocess("features", "--org", "acme", "-k", "tenants")

    (entry,) = summary(run_dirs(project)[0], "acme")["scenarios"]
    assert entry["outcome"] == "skipped"
    assert entry["attest"].startswith("no second organisation of the same kind is in this run")


def test_duplicate_organisations_are_merged(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess(
        "features", "--org", "acme", "--org", "acme", "-k", "answers or parameter"
    )

    result.assert_outcomes(passed=3)  # "The organisation answers" + the two outline examples, once each
    assert [s["outcome"] for s in summary(run_dirs(project)[0], "acme")["scenarios"]] == ["passed"] * 3


def test_pytest_xdist_makes_one_run_with_merged_evidence(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess(
        "features", "--org", "acme", "--org", "globex", "-n", "2", "-k", "not fail", "-p", "xdist"
    )

    result.assert_outcomes(passed=8, skipped=2)  # each organisation is the other's second tenant
    (run,) = run_dirs(project)  # one run folder, shared by both workers
    for slug in ("acme", "globex"):
        data = summary(run, slug)
        assert data["run_id"] == run.name and len(data["scenarios"]) == 5
        assert data["http_exchanges"] == 5  # 1 + 1 + 2 + 1; the skipped one sent nothing
        assert (run / "fingerprint" / f"{slug}.json").is_file()
        assert (run / "preflight" / f"{slug}.json").is_file()
    results = list((run / "allure-results").glob("*-result.json"))
    assert len(results) == 8  # every scenario that ran, from both workers (skipped at setup: none)
    assert (run / "allure-results" / "environment.properties").is_file()


def test_last_failed_reruns_only_what_failed(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOLIVE_TEST_FAIL", "1")
    first = project.runpytest_subprocess("features", "--org", "acme")
    first.assert_outcomes(passed=3, failed=1, skipped=2)
    monkeypatch.delenv("GOLIVE_TEST_FAIL")

    again = project.runpytest_subprocess("features", "--org", "acme", "--lf")

    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines(["*run-last-failure: rerun previous 1 failure*", "*1 passed*"])
    assert "skipped" not in again.stdout.lines[-1]


def test_step_parameters_show_the_steps_values_not_python_objects(project: pytest.Pytester) -> None:
    project.runpytest_subprocess("features", "--org", "acme", "-k", "parameter")

    results = [
        json.loads(p.read_text()) for p in (run_dirs(project)[0] / "allure-results").glob("*-result.json")
    ]
    steps = [step for result in results for step in result["steps"]]
    parameters = [(p["name"], p["value"]) for step in steps for p in step.get("parameters", [])]
    assert sorted(parameters) == [("times", "1"), ("times", "2")]
    assert not any(" object at 0x" in json.dumps(result) for result in results)


def test_a_wrong_api_key_stops_the_run_with_one_line(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_CRM_API_KEY", "ncrm_plugin_wrong_key_0000000000000000")
    path = project.path / "orgs" / "acme.toml"
    path.write_text(
        path.read_text().replace("timeout_ms = 3000", 'timeout_ms = 3000\napi_key_env = "ACME_CRM_API_KEY"')
    )

    result = project.runpytest_subprocess("features", "--org", "acme")

    assert result.ret == 2
    problems = [line for line in result.errlines if line.startswith("golive: acme:")]
    assert len(problems) == 1 and "refuses the API key in ACME_CRM_API_KEY" in problems[0]
    assert "ncrm_plugin_wrong" not in result.stdout.str() + result.stderr.str()
    assert "Traceback" not in result.stderr.str() and "passed" not in result.stdout.str()


def test_a_good_api_key_names_the_crm_organisation_in_the_fingerprint(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_CRM_API_KEY", GOOD_KEY)
    path = project.path / "orgs" / "acme.toml"
    path.write_text(
        path.read_text().replace("timeout_ms = 3000", 'timeout_ms = 3000\napi_key_env = "ACME_CRM_API_KEY"')
    )

    project.runpytest_subprocess("features", "--org", "acme", "-k", "answers")

    run = run_dirs(project)[0]
    fingerprint = json.loads((run / "fingerprint" / "acme.json").read_text())
    assert fingerprint["crm_organisation"] == {"id": ORG_ID, "name": "Acme Ltda"}
    assert fingerprint["git_branch"]
    assert GOOD_KEY not in "".join(p.read_text(errors="replace") for p in run.rglob("*") if p.is_file())
