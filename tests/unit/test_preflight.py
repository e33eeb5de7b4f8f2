"""The preflight, against respx fakes of the CRM, Chatwoot and n8n: every misconfiguration is one
line naming the setting and the fix, and a webhook that checks another signature scheme is told
apart from a wrong secret without writing anything."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from golive.config import build_organisation
from golive.organisation import Organisation
from golive.runtime.preflight import Report, run_preflight
from golive.sandbox.postgres import free_port
from golive.scenario.signatures import PROBE_EVENT
from golive.secrets import Redactor
from golive.settings import RUNBOOK_SLUG

CRM = "https://crm-staging.example.com"
CHATWOOT = "https://chatwoot-staging.example.com"
N8N = "https://n8n-staging.example.com"
ORG_ID = "6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e6c1a37"
SECRET = "whsec-unit-0000000000000000"
API_KEY = "ncrm_unit0000000000000000000000000000"
RUNBOOK = {
    "SMOKE_BASE_URL": CRM,
    "SMOKE_CHATWOOT_ACCOUNT_ID": "7",
    "SMOKE_CHATWOOT_INBOX_WHATSAPP_ID": "30",
    "SMOKE_CHATWOOT_INBOX_INSTAGRAM_ID": "31",
    "SMOKE_INSTAGRAM_IGSID": "17841400000000031",
    "SMOKE_WHATSAPP_PHONE": "+5511987654321",
    "SMOKE_CRM_API_KEY": API_KEY,
    "SMOKE_CHATWOOT_WEBHOOK_SECRET": SECRET,
    "SMOKE_TIMEOUT_MS": "3000",
}


def runbook(redactor: Redactor, **env: str) -> Organisation:
    values = {k: v for k, v in {**RUNBOOK, **env}.items() if v}
    return build_organisation(RUNBOOK_SLUG, {}, values, file_label="the SMOKE_* variables", runbook=True)


def chatwoot_signature_ok(request: httpx.Request, secret: str) -> bool:
    timestamp = request.headers.get("x-chatwoot-timestamp", "")
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + request.content, hashlib.sha256)
    return request.headers.get("x-chatwoot-signature") == f"sha256={expected.hexdigest()}"


def legacy_signature_ok(request: httpx.Request, secret: str) -> bool:
    """LagostaCRM's validateWebhookSignature (crm-contract §7 #6)."""
    signature = request.headers.get("x-chatwoot-signature") or ""
    return not signature or signature in (secret, f"Bearer {secret}")


Check = Callable[[httpx.Request, str], bool]


class FakeCrm:
    def __init__(self, router: respx.MockRouter, *, check: Check, secret: str = SECRET) -> None:
        self.check, self.secret = check, secret
        self.probes: list[dict[str, Any]] = []
        router.get(f"{CRM}/api/chatwoot/webhook").respond(
            200, json={"status": "ok", "secretConfigured": True}
        )
        router.post(f"{CRM}/api/chatwoot/webhook").mock(side_effect=self._post)
        self.me = router.get(f"{CRM}/api/public/v1/me")
        self.me.mock(side_effect=self._me)

    def _post(self, request: httpx.Request) -> httpx.Response:
        self.probes.append(json.loads(request.content))
        if not self.check(request, self.secret):
            return httpx.Response(401, json={"error": "Invalid signature"})
        return httpx.Response(200, json={"success": True, "ignored": "no_matching_tenant"})

    def _me(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("x-api-key") != API_KEY:
            return httpx.Response(401, json={"error": "Invalid API key", "code": "AUTH_INVALID"})
        data = {
            "organization_id": ORG_ID,
            "organization_name": "Coronel Picanha",
            "api_key_prefix": "ncrm_unit00",
        }
        return httpx.Response(200, json={"data": data})


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as mock:
        yield mock


def only_problem(report: Report) -> str:
    assert len(report.problems) == 1, report.problems
    (line,) = report.lines()
    assert "\n" not in line and line.startswith("runbook: ")
    return line


def test_a_healthy_target_passes_with_one_probe_and_names_its_organisation(
    redactor: Redactor, router: respx.MockRouter
) -> None:
    crm = FakeCrm(router, check=chatwoot_signature_ok)

    report = run_preflight(runbook(redactor))

    assert report.ok, report.problems
    assert report.identity is not None and report.identity.organization_name == "Coronel Picanha"
    assert report.identity.organization_id == ORG_ID
    assert [p["event"] for p in crm.probes] == [PROBE_EVENT]  # a healthy webhook sees one probe
    assert "account" not in crm.probes[0]  # names no account: every CRM ignores it, nothing is written


def test_a_wrong_api_key_is_one_line_naming_the_variable(
    redactor: Redactor, router: respx.MockRouter
) -> None:
    FakeCrm(router, check=chatwoot_signature_ok)

    line = only_problem(
        run_preflight(runbook(redactor, SMOKE_CRM_API_KEY="ncrm_wrong000000000000000000000000000"))
    )

    assert "refuses the API key in SMOKE_CRM_API_KEY" in line and "401" in line
    assert "ncrm_wrong" not in line


def test_a_signature_scheme_that_is_not_chatwoots_is_named_as_such(
    redactor: Redactor, router: respx.MockRouter
) -> None:
    crm = FakeCrm(router, check=legacy_signature_ok)

    line = only_problem(run_preflight(runbook(redactor)))

    assert "signature scheme not Chatwoot's" in line and "crm-contract §7 #6" in line
    assert "the secret itself as the signature" in line
    assert len(crm.probes) == 2  # Chatwoot's HMAC refused, the secret itself accepted: no third probe


def test_a_legacy_scheme_with_another_secret_is_still_not_chatwoots(
    redactor: Redactor, router: respx.MockRouter
) -> None:
    FakeCrm(router, check=legacy_signature_ok, secret="the-crms-own-secret-000")

    line = only_problem(run_preflight(runbook(redactor)))

    assert "signature scheme not Chatwoot's" in line
    assert "a delivery without any signature" in line and "not the CRM's secret either" in line


def test_a_wrong_secret_is_told_apart_from_a_foreign_scheme(
    redactor: Redactor, router: respx.MockRouter
) -> None:
    FakeCrm(router, check=chatwoot_signature_ok, secret="the-crms-own-secret-000")

    line = only_problem(run_preflight(runbook(redactor)))

    assert "wrong secret" in line and "SMOKE_CHATWOOT_WEBHOOK_SECRET" in line
    assert "scheme" not in line
    assert SECRET not in line


def test_a_legacy_profile_against_a_chatwoot_scheme_is_told_to_switch(
    redactor: Redactor, router: respx.MockRouter
) -> None:
    FakeCrm(router, check=chatwoot_signature_ok)

    line = only_problem(run_preflight(runbook(redactor, SMOKE_SIGNATURE_MODE="legacy")))

    assert "set SMOKE_SIGNATURE_MODE=hmac" in line


def test_a_required_signature_without_a_secret(redactor: Redactor, router: respx.MockRouter) -> None:
    FakeCrm(router, check=chatwoot_signature_ok)

    line = only_problem(run_preflight(runbook(redactor, SMOKE_CHATWOOT_WEBHOOK_SECRET="")))

    assert "requires signed deliveries" in line and "set SMOKE_CHATWOOT_WEBHOOK_SECRET" in line


def test_an_unreachable_crm_is_one_line_not_one_per_check(redactor: Redactor) -> None:
    url = f"http://127.0.0.1:{free_port()}"

    line = only_problem(run_preflight(runbook(redactor, SMOKE_BASE_URL=url)))

    assert f"cannot reach the CRM at {url}" in line and "check SMOKE_BASE_URL" in line


def test_a_webhook_answering_5xx_is_left_to_the_scenarios(
    redactor: Redactor, router: respx.MockRouter
) -> None:
    FakeCrm(router, check=chatwoot_signature_ok)
    router.post(f"{CRM}/api/chatwoot/webhook").respond(503, json={"error": "Service unavailable"})

    report = run_preflight(runbook(redactor))

    assert report.ok and any("503" in note for note in report.notes)


def test_an_api_key_of_another_organisation(redactor: Redactor, router: respx.MockRouter) -> None:
    FakeCrm(router, check=chatwoot_signature_ok)
    other = "00000000-0000-4000-8000-000000000001"

    line = only_problem(run_preflight(runbook(redactor, SMOKE_ORGANIZATION_ID=other)))

    assert f"belongs to Coronel Picanha ({ORG_ID})" in line and f"SMOKE_ORGANIZATION_ID={other}" in line


def test_a_wrong_chatwoot_token_and_a_missing_inbox(redactor: Redactor, router: respx.MockRouter) -> None:
    FakeCrm(router, check=chatwoot_signature_ok)
    inboxes = router.get(f"{CHATWOOT}/api/v1/accounts/7/inboxes")
    env = {"SMOKE_CHATWOOT_BASE_URL": CHATWOOT, "SMOKE_CHATWOOT_API_TOKEN": "cw-token-unit-000"}

    inboxes.respond(401, json={"errors": ["Invalid Access Token"]})
    line = only_problem(run_preflight(runbook(redactor, **env)))
    assert "Chatwoot refuses the API token in SMOKE_CHATWOOT_API_TOKEN" in line

    inboxes.respond(
        200, json={"payload": [{"id": 30, "name": "WhatsApp", "channel_type": "Channel::Whatsapp"}]}
    )
    line = only_problem(run_preflight(runbook(redactor, **env)))
    assert "has no inbox 31" in line and "SMOKE_CHATWOOT_INBOX_INSTAGRAM_ID" in line


def test_n8n_key_and_workflow(redactor: Redactor, router: respx.MockRouter) -> None:
    FakeCrm(router, check=chatwoot_signature_ok)
    workflows = router.get(f"{N8N}/api/v1/workflows")
    env = {
        "SMOKE_N8N_BASE_URL": N8N,
        "SMOKE_N8N_API_KEY": "n8n-key-unit-0000",
        "SMOKE_N8N_WEBHOOK_PATH": "lagosta-agent-v2",
    }

    workflows.respond(401, json={"message": "'X-N8N-API-KEY' header required"})
    line = only_problem(run_preflight(runbook(redactor, **env)))
    assert "n8n refuses the API key in SMOKE_N8N_API_KEY" in line

    workflows.respond(200, json={"data": [], "nextCursor": None})
    line = only_problem(run_preflight(runbook(redactor, **env)))
    assert "no n8n workflow listens on the webhook path 'lagosta-agent-v2'" in line
    assert "SMOKE_N8N_WEBHOOK_PATH" in line


def test_a_half_configured_integration_names_what_is_missing(
    redactor: Redactor, router: respx.MockRouter
) -> None:
    FakeCrm(router, check=chatwoot_signature_ok)

    line = only_problem(run_preflight(runbook(redactor, SMOKE_N8N_BASE_URL=N8N)))

    assert "n8n is half configured: SMOKE_N8N_BASE_URL is set" in line
    assert "SMOKE_N8N_API_KEY, SMOKE_N8N_WEBHOOK_PATH are not" in line


def test_a_database_that_does_not_answer_is_one_line_without_the_dsn(
    redactor: Redactor, router: respx.MockRouter
) -> None:
    FakeCrm(router, check=chatwoot_signature_ok)
    password = "db-password-unit-000"
    dsn = f"postgresql://golive_reader:{password}@127.0.0.1:{free_port()}/lagosta"

    line = only_problem(run_preflight(runbook(redactor, SMOKE_DATABASE_URL=dsn)))

    assert "cannot open the read-only database connection (SMOKE_DATABASE_URL)" in line
    assert "set SMOKE_DATABASE_URL" in line and password not in line
    assert "Traceback" not in line


def test_the_report_it_writes_holds_no_secret(
    redactor: Redactor, router: respx.MockRouter, tmp_path: Path
) -> None:
    FakeCrm(router, check=legacy_signature_ok)  # the legacy probe sends the secret itself as a header

    run_preflight(runbook(redactor)).write(tmp_path / "preflight.json")
    written = (tmp_path / "preflight.json").read_text(encoding="utf-8")

    assert API_KEY not in written and SECRET not in written
    exchanges = json.loads(written)["exchanges"]
    assert [e["request"]["method"] for e in exchanges] == ["GET", "GET", "POST", "POST"]


# --- Chatwoot's Meta channel webhooks (provider) --------------------------------------------------

APP_SECRET = "meta-app-secret-unit-0000"
PROVIDER_ENV = {
    "SMOKE_CHATWOOT_BASE_URL": CHATWOOT,
    "SMOKE_CHATWOOT_API_TOKEN": "cw-token-unit-000",
    "SMOKE_CHATWOOT_INJECT_INSTAGRAM": "provider",
    "SMOKE_CHATWOOT_INSTAGRAM_ACCOUNT_ID": "17841499000000031",
    "SMOKE_INSTAGRAM_APP_SECRET": APP_SECRET,
    "SMOKE_CHATWOOT_ALLOW_PROVIDER_INJECTION": "true",
}


def _chatwoot_with_inboxes(router: respx.MockRouter, instagram_type: str = "Channel::Instagram") -> None:
    router.get(f"{CHATWOOT}/api/v1/accounts/7/inboxes").respond(
        200,
        json={
            "payload": [
                {"id": 30, "name": "WhatsApp", "channel_type": "Channel::Whatsapp"},
                {"id": 31, "name": "Instagram", "channel_type": instagram_type},
            ]
        },
    )


def test_a_wrong_meta_app_secret_is_named_before_any_scenario(
    redactor: Redactor, router: respx.MockRouter
) -> None:
    FakeCrm(router, check=chatwoot_signature_ok)
    _chatwoot_with_inboxes(router)
    channel = router.post(f"{CHATWOOT}/webhooks/instagram")

    def verify(request: httpx.Request, secret: str) -> httpx.Response:
        expected = "sha256=" + hmac.new(secret.encode(), request.content, hashlib.sha256).hexdigest()
        ok = request.headers.get("x-hub-signature-256") == expected
        return httpx.Response(200, json="ok") if ok else httpx.Response(401)

    channel.mock(side_effect=lambda request: verify(request, APP_SECRET))
    report = run_preflight(runbook(redactor, **PROVIDER_ENV))
    assert report.ok, report.lines()
    assert json.loads(channel.calls[0].request.content) == {"object": "instagram", "entry": []}
    assert "accepts a signed Meta event" in report.checks["instagram channel webhook"]

    channel.mock(side_effect=lambda request: verify(request, "the-secret-chatwoot-has"))
    line = only_problem(run_preflight(runbook(redactor, **PROVIDER_ENV)))
    assert "Chatwoot refuses a Meta event signed with the secret in SMOKE_INSTAGRAM_APP_SECRET (401" in line
    assert APP_SECRET not in line


def test_provider_on_an_inbox_meta_does_not_feed_is_named(
    redactor: Redactor, router: respx.MockRouter
) -> None:
    FakeCrm(router, check=chatwoot_signature_ok)
    _chatwoot_with_inboxes(router, instagram_type="Channel::Api")
    router.post(f"{CHATWOOT}/webhooks/instagram").respond(200, json="ok")

    line = only_problem(run_preflight(runbook(redactor, **PROVIDER_ENV)))

    assert "SMOKE_CHATWOOT_INJECT_INSTAGRAM is provider, but inbox 31 is a Channel::Api inbox" in line
