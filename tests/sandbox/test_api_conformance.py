"""The CRM double serves LagostaCRM's public-API document and conforms to it: the paths of the
real definition (`lib/public-api/openapi.ts`), the answers its schemas require, its limits, and
Schemathesis finding nothing the allow-list does not explain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from golive.commands.api_check import run_api_check
from golive.config import load_profile_file
from golive.organisation import Organisation
from golive.runtime.sandbox_process import SandboxHandle, start

ROOT = Path(__file__).resolve().parents[2]
# The 17 paths of LagostaCRM's own document, and the identifier routes the v2 contract adds.
REAL_PATHS = {
    "/openapi.json", "/me", "/boards", "/boards/{boardKeyOrId}", "/boards/{boardKeyOrId}/stages",
    "/companies", "/companies/{companyId}", "/contacts", "/contacts/{contactId}", "/deals",
    "/deals/{dealId}", "/deals/{dealId}/move-stage", "/deals/move-stage-by-identity",
    "/deals/move-stage", "/deals/{dealId}/mark-won", "/deals/{dealId}/mark-lost", "/activities",
}  # fmt: skip


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    handle = start()
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def pilot(sandbox: SandboxHandle) -> Organisation:
    return load_profile_file(sandbox.profiles_dir / "sandbox-pilot.toml", sandbox.secrets)


@pytest.fixture(scope="module")
def api(pilot: Organisation) -> Iterator[httpx.Client]:
    assert pilot.api_key
    base = f"{pilot.crm_base_url}/api/public/v1"
    with httpx.Client(base_url=base, headers={"X-Api-Key": pilot.api_key.reveal()}, timeout=30) as client:
        yield client


def test_the_served_document_has_the_real_paths_and_marks_the_v2_differences(api: httpx.Client) -> None:
    spec = httpx.get(str(api.base_url).rstrip("/") + "/openapi.json").json()  # no key needed
    assert spec["openapi"].startswith("3.1")
    assert set(spec["paths"]) == REAL_PATHS | {"/contacts/{contactId}/identifiers"}
    move = spec["paths"]["/deals/move-stage-by-identity"]["post"]
    assert "409" in move["responses"] and "AMBIGUOUS_MATCH" in move["description"]
    assert "golive v2 contract" in str(spec["components"]["schemas"]["Deal"]["properties"]["ai_summary"])


def test_answers_carry_what_the_schemas_require_and_limits_hold(api: httpx.Client) -> None:
    contacts = api.get("/contacts", params={"limit": 5})
    assert contacts.status_code == 200
    assert contacts.json()["data"] and all(
        "role" in c and "total_value" in c for c in contacts.json()["data"]
    )
    for limit in ("0", "251", "abc"):
        refused = api.get("/contacts", params={"limit": limit})
        assert refused.status_code == 422 and refused.json()["code"] == "VALIDATION_ERROR", limit
    board = api.get("/boards/atendimento")
    assert board.status_code == 200 and board.json()["data"]["key"] == "atendimento"
    missing = api.get("/companies/3f1c2a57-9d7e-4c8b-a2f0-6b5d4e3c2a10")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    wrong_method = api.patch("/deals/move-stage", json={})
    assert wrong_method.status_code == 405 and "POST" in wrong_method.headers["allow"]
    newline_id = api.get("/deals/3f1c2a57-9d7e-4c8b-a2f0-6b5d4e3c2a10%0A")
    assert newline_id.status_code == 422


def test_a_company_named_on_a_contact_is_created_and_found(api: httpx.Client) -> None:
    created = api.post("/contacts", json={"name": "Bia", "email": "bia@golive.test", "company_name": "Acme"})
    assert created.status_code == 201, created.text
    company_id = created.json()["data"]["client_company_id"]
    assert api.get(f"/companies/{company_id}").json()["data"]["name"] == "Acme"
    again = api.post("/companies", json={"name": "acme", "industry": "food"})
    assert (again.status_code, again.json()["data"]["id"]) == (200, company_id)


def test_schemathesis_finds_nothing_unexplained(pilot: Organisation, tmp_path: Path) -> None:
    result = run_api_check(
        pilot, tmp_path, allow_list=ROOT / "fixtures/api-check/allow-list.toml", max_examples=10, seed=16
    )
    assert result.summary["completed"] and result.summary["operations_tested"] >= 25
    assert result.unexplained == (), [f.as_dict() for f in result.unexplained]
    assert (tmp_path / "api-check" / "sandbox-pilot" / "junit.xml").is_file()
    assert any((tmp_path / "allure-results").glob("*-result.json"))
