"""The HTTP clients on a mocked transport (respx): the CRM public API, the webhook emitter,
error translation and exchange recording. Every unmatched request fails the test."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import respx

from golive.clients.crm import Answer, Contact, CrmClient, Deal, Me, Stage
from golive.clients.http import BODY_LIMIT, ExchangeLog, active_log, build_client, recording
from golive.clients.webhook import Signing, WebhookEmitter
from golive.errors import ApiError, TargetUnreachable
from golive.payloads import chatwoot
from golive.scenario.data import DataFactory
from golive.scenario.injection import Conversations
from golive.secrets import Secret

BASE = "https://crm-staging.example.com"
API = "/api/public/v1"
HOOK = "/api/chatwoot/webhook"
API_KEY = "ncrm_unit0000000000000000000000000000"  # a made-up key
HOOK_SECRET = "whsec-unit-test-0123456789"  # a made-up webhook secret
ORG = "coronel"

DEAL = {
    "id": "0b6f8e2c-1d3a-4f5b-9c7e-2a4d6f8b0c1e",
    "title": "Pedido Ana",
    "value": 0,
    "board_id": "5a7c9e1b-3d5f-4a6c-8e0b-1c3e5a7c9e1b",
    "stage_id": "9e1b3d5f-7a9c-4e1b-8d3f-5a7c9e1b3d5f",
    "contact_id": "2c4e6a8b-0d2f-4a6c-9e0b-3d5f7a9c1e3b",
    "is_won": False,
    "is_lost": False,
    "closed_at": None,
    "ai_summary": "quer reservar",
}


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=True) as router:
        yield router


@pytest.fixture(scope="module")
def crm_http() -> Iterator[httpx.Client]:
    """Built once per module (building an httpx.Client is slow); the clients hold no state."""
    with build_client("crm", base_url=BASE, headers={"X-Api-Key": API_KEY}, timeout=5.0) as client:
        yield client


@pytest.fixture
def crm(crm_http: httpx.Client) -> CrmClient:
    return CrmClient(http=crm_http, organisation=ORG)


@pytest.fixture(scope="module")
def hook_http() -> Iterator[httpx.Client]:
    with build_client("crm-webhook", base_url=BASE, timeout=5.0) as client:
        yield client


def emitter(hook_http: httpx.Client, *, secret: str | None = HOOK_SECRET, mode: str = "hmac"):
    return WebhookEmitter(
        http=hook_http,
        organisation=ORG,
        path=HOOK,
        secret=Secret("CORONEL_CHATWOOT_WEBHOOK_SECRET", secret) if secret else None,
        signature_mode=mode,
    )


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


# --- CrmClient: paths, auth, bodies, typed results -----------------------------------------


def test_me_gets_the_organisation_behind_the_api_key(crm: CrmClient, mock: respx.MockRouter) -> None:
    route = mock.get(f"{API}/me").respond(
        200,
        json={
            "data": {
                "organization_id": "6f1c",
                "organization_name": "Coronel",
                "api_key_prefix": "ncrm_unit000",
            }
        },
    )

    me = crm.me()

    assert me == Me("6f1c", "Coronel", "ncrm_unit000")
    request = route.calls.last.request
    assert request.method == "GET"
    assert str(request.url) == f"{BASE}{API}/me"
    assert request.headers.get_list("X-Api-Key") == [API_KEY]


def test_the_api_key_is_sent_once_on_every_call(crm: CrmClient, mock: respx.MockRouter) -> None:
    mock.get(f"{API}/me").respond(
        200,
        json={"data": {"organization_id": "o", "organization_name": "n", "api_key_prefix": "p"}},
    )
    mock.get(f"{API}/boards/atendimento/stages").respond(200, json={"data": []})
    mock.post(f"{API}/deals/{DEAL['id']}/move-stage").respond(200, json={"data": DEAL})

    crm.me()
    crm.stages("atendimento")
    crm.move_deal(DEAL["id"], stage="Proposta")

    assert len(mock.calls) == 3
    for call in mock.calls:
        assert call.request.headers.get_list("x-api-key") == [API_KEY]


def test_me_with_another_key_replaces_the_clients_key(crm: CrmClient, mock: respx.MockRouter) -> None:
    route = mock.get(f"{API}/me").respond(401, json={"error": "Invalid API key", "code": "AUTH_INVALID"})

    answer = crm.me_with_key("ncrm_revoked_key")

    assert route.calls.last.request.headers.get_list("X-Api-Key") == ["ncrm_revoked_key"]
    assert answer.status == 401
    assert answer.code == "AUTH_INVALID"
    assert answer.error == "Invalid API key"


def test_me_without_a_key_sends_no_key_at_all(crm: CrmClient, mock: respx.MockRouter) -> None:
    route = mock.get(f"{API}/me").respond(401, json={"error": "Missing X-Api-Key", "code": "AUTH_MISSING"})

    answer = crm.me_with_key(None)

    assert "X-Api-Key" not in route.calls.last.request.headers
    assert answer.code == "AUTH_MISSING"


def test_me_with_another_key_leaves_the_client_key_alone(crm: CrmClient, mock: respx.MockRouter) -> None:
    route = mock.get(f"{API}/me").respond(
        200,
        json={"data": {"organization_id": "o", "organization_name": "n", "api_key_prefix": "p"}},
    )

    crm.me_with_key(None)
    crm.me()

    assert route.calls.last.request.headers.get_list("X-Api-Key") == [API_KEY]


def test_webhook_status_reads_the_get_endpoint(crm: CrmClient, mock: respx.MockRouter) -> None:
    body = {
        "status": "ok",
        "message": "Chatwoot webhook endpoint is active",
        "secretConfigured": True,
    }
    mock.get(HOOK).respond(200, json=body)

    assert crm.webhook_status() == body


def test_stages_of_a_board(crm: CrmClient, mock: respx.MockRouter) -> None:
    mock.get(f"{API}/boards/atendimento/stages").respond(
        200,
        json={
            "data": [
                {"id": "s1", "label": "Novo", "color": "#fff", "order": 0},
                {"id": "s2", "label": "Proposta", "color": "#000", "order": 1},
            ]
        },
    )

    assert crm.stages("atendimento") == [Stage("s1", "Novo", 0), Stage("s2", "Proposta", 1)]


def test_upsert_contact_sends_only_the_given_fields(crm: CrmClient, mock: respx.MockRouter) -> None:
    route = mock.post(f"{API}/contacts").respond(
        201,
        json={
            "data": {"id": "c9", "name": "Carlos", "phone": "+5511987654321"},
            "action": "created",
        },
    )

    contact = crm.upsert_contact(name="Carlos", phone="+5511987654321")

    assert contact == Contact("c9", "Carlos", "+5511987654321", None)
    assert sent_json(route) == {"name": "Carlos", "phone": "+5511987654321"}
    assert route.calls.last.request.headers["content-type"] == "application/json"


def test_upsert_contact_accepts_an_update(crm: CrmClient, mock: respx.MockRouter) -> None:
    mock.post(f"{API}/contacts").respond(
        200,
        json={
            "data": {"id": "c9", "name": "Carlos", "email": "c@example.com"},
            "action": "updated",
        },
    )

    assert crm.upsert_contact(name="Carlos", email="c@example.com").email == "c@example.com"


@pytest.mark.parametrize(("status", "action"), [(201, "created"), (200, "existing")])
def test_create_deal_returns_the_deal_and_the_action(
    crm: CrmClient, mock: respx.MockRouter, status: int, action: str
) -> None:
    route = mock.post(f"{API}/deals").respond(status, json={"data": DEAL, "action": action})

    deal, got = crm.create_deal(title="Pedido Ana", board="atendimento", contact_id="c1")

    assert got == action
    assert isinstance(deal, Deal)
    assert deal.id == DEAL["id"] and deal.stage_id == DEAL["stage_id"]
    assert deal.ai_summary == "quer reservar"
    assert sent_json(route) == {
        "title": "Pedido Ana",
        "board_key": "atendimento",
        "contact_id": "c1",
    }


def test_deal_reads_one_deal(crm: CrmClient, mock: respx.MockRouter) -> None:
    mock.get(f"{API}/deals/{DEAL['id']}").respond(200, json={"data": {**DEAL, "is_won": True}})

    deal = crm.deal(DEAL["id"])

    assert deal.is_won is True and deal.is_lost is False
    assert deal.contact_id == DEAL["contact_id"]


def test_deal_answer_returns_a_404_instead_of_raising(crm: CrmClient, mock: respx.MockRouter) -> None:
    mock.get(f"{API}/deals/{DEAL['id']}").respond(404, json={"error": "Deal not found", "code": "NOT_FOUND"})

    answer = crm.deal_answer(DEAL["id"])

    assert (answer.status, answer.code, answer.error) == (404, "NOT_FOUND", "Deal not found")
    assert answer.deal is None
    assert answer.describe() == "404 NOT_FOUND Deal not found"


def test_open_deals_filters_by_contact_and_status(crm: CrmClient, mock: respx.MockRouter) -> None:
    route = mock.get(f"{API}/deals").respond(200, json={"data": [DEAL, {**DEAL, "id": "d2"}]})

    deals = crm.open_deals("c1")

    assert [d.id for d in deals] == [DEAL["id"], "d2"]
    assert dict(route.calls.last.request.url.params) == {"contact_id": "c1", "status": "open"}


def test_move_deal_by_id_sends_the_stage_label_and_summary(crm: CrmClient, mock: respx.MockRouter) -> None:
    route = mock.post(f"{API}/deals/{DEAL['id']}/move-stage").respond(
        200, json={"data": DEAL, "action": "moved"}
    )

    answer = crm.move_deal(DEAL["id"], stage="Proposta", ai_summary="quer reservar")

    assert sent_json(route) == {"to_stage_label": "Proposta", "ai_summary": "quer reservar"}
    assert answer.status == 200
    assert answer.action == "moved"
    assert answer.deal is not None and answer.deal.id == DEAL["id"]


def test_move_deal_without_summary_sends_no_summary_key(crm: CrmClient, mock: respx.MockRouter) -> None:
    route = mock.post(f"{API}/deals/{DEAL['id']}/move-stage").respond(200, json={"data": DEAL})

    crm.move_deal(DEAL["id"], stage="Proposta")

    assert sent_json(route) == {"to_stage_label": "Proposta"}


def test_move_by_identity_returns_a_409_ambiguity_as_an_answer(
    crm: CrmClient, mock: respx.MockRouter
) -> None:
    route = mock.post(f"{API}/deals/move-stage-by-identity").respond(
        409, json={"error": "More than one open deal matches", "code": "AMBIGUOUS_MATCH"}
    )

    answer = crm.move_by_identity(
        board="atendimento", stage="Proposta", channel="instagram", identifier="17841400000000000"
    )

    assert answer.status == 409
    assert answer.code == "AMBIGUOUS_MATCH"
    assert answer.deal is None
    assert sent_json(route) == {
        "board_key_or_id": "atendimento",
        "to_stage_label": "Proposta",
        "channel": "instagram",
        "identifier": "17841400000000000",
    }


def test_move_by_identity_across_boards_says_so(crm: CrmClient, mock: respx.MockRouter) -> None:
    route = mock.post(f"{API}/deals/move-stage-by-identity").respond(
        200, json={"data": DEAL, "action": "moved"}
    )

    crm.move_by_identity(board="atendimento", stage="Proposta", cross_board=True, phone="+5511987654321")

    assert sent_json(route) == {
        "board_key_or_id": "atendimento",
        "to_stage_label": "Proposta",
        "phone": "+5511987654321",
        "allow_cross_board": True,
    }


def test_move_legacy_uses_the_phone_route(crm: CrmClient, mock: respx.MockRouter) -> None:
    route = mock.post(f"{API}/deals/move-stage").respond(
        422, json={"error": "Stage not found for this board", "code": "VALIDATION_ERROR"}
    )

    answer = crm.move_legacy(board="atendimento", stage="Nope", phone="+5511987654321")

    assert sent_json(route) == {
        "board_key_or_id": "atendimento",
        "phone": "+5511987654321",
        "to_stage_label": "Nope",
    }
    assert answer.describe() == (
        "422 VALIDATION_ERROR Stage not found for this board "
        "(the request carried board_key_or_id, phone, to_stage_label)"
    )


def test_an_answer_that_is_not_json_keeps_the_text(crm: CrmClient, mock: respx.MockRouter) -> None:
    mock.get(f"{API}/deals/d1").respond(502, text="<html>Bad Gateway</html>")

    answer = crm.deal_answer("d1")

    assert answer.status == 502
    assert answer.error == "<html>Bad Gateway</html>"


def test_an_answer_whose_body_is_a_list_is_wrapped_as_data(crm: CrmClient, mock: respx.MockRouter) -> None:
    mock.get(f"{API}/deals/d1").respond(200, json=[1, 2])

    assert crm.deal_answer("d1").body == {"data": [1, 2]}


def test_answer_properties_are_none_when_absent() -> None:
    answer = Answer(204, {})

    assert (answer.code, answer.error, answer.action, answer.deal) == (None, None, None, None)
    assert answer.describe() == "204"


# --- errors: ApiError and TargetUnreachable --------------------------------------------------


def test_an_unexpected_status_raises_api_error_with_the_details(
    crm: CrmClient, mock: respx.MockRouter
) -> None:
    body = json.dumps({"error": "boom", "code": "DB_ERROR", "trace": "x" * 2000})
    mock.get(f"{API}/deals/{DEAL['id']}").respond(500, text=body)

    with pytest.raises(ApiError) as caught:
        crm.deal(DEAL["id"])

    error = caught.value
    assert not isinstance(error, TargetUnreachable)
    assert error.organisation == ORG
    assert error.method == "GET"
    assert error.url == f"{BASE}{API}/deals/{DEAL['id']}"
    assert error.status == 500
    assert error.body_excerpt == body[:300]
    message = str(error)
    for part in (ORG, "GET", error.url, "500", "DB_ERROR", "wanted 200"):
        assert part in message


def test_an_unexpected_success_status_is_also_an_api_error(crm: CrmClient, mock: respx.MockRouter) -> None:
    mock.post(f"{API}/deals").respond(202, json={"data": DEAL, "action": "queued"})

    with pytest.raises(ApiError) as caught:
        crm.create_deal(title="t", board="b", contact_id="c")

    assert caught.value.status == 202
    assert caught.value.method == "POST"
    assert "wanted 200/201" in str(caught.value)


def test_a_non_json_success_is_an_api_error(crm: CrmClient, mock: respx.MockRouter) -> None:
    mock.get(f"{API}/me").respond(200, text="<html>login</html>")

    with pytest.raises(ApiError, match="not JSON") as caught:
        crm.me()

    assert caught.value.status == 200
    assert caught.value.body_excerpt == "<html>login</html>"


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("Connection refused"), httpx.RemoteProtocolError("Server disconnected")],
    ids=["refused", "disconnected"],
)
def test_a_target_that_cannot_be_reached_raises_target_unreachable(
    crm: CrmClient, mock: respx.MockRouter, failure: Exception
) -> None:
    mock.get(f"{API}/me").mock(side_effect=failure)

    with pytest.raises(TargetUnreachable) as caught:
        crm.me()

    error = caught.value
    assert isinstance(error, ApiError)
    assert error.organisation == ORG
    assert error.method == "GET"
    assert error.url == f"{BASE}{API}/me"
    assert error.status is None
    message = str(error)
    assert type(failure).__name__ in message
    assert "check the URL in the profile" in message  # what to do next
    assert f"{BASE}{API}/me" in message


@pytest.mark.parametrize("timeout", [httpx.ConnectTimeout, httpx.ReadTimeout, httpx.PoolTimeout])
def test_a_target_that_does_not_answer_in_time_raises_target_unreachable(
    crm: CrmClient, mock: respx.MockRouter, timeout: type[Exception]
) -> None:
    mock.post(f"{API}/deals/d1/move-stage").mock(side_effect=timeout)

    with pytest.raises(TargetUnreachable) as caught:
        crm.move_deal("d1", stage="Proposta")

    message = str(caught.value)
    assert timeout.__name__ in message
    assert "5.0s" in message  # the configured timeout
    assert "is the target up" in message
    assert caught.value.method == "POST"
    assert caught.value.url == f"{BASE}{API}/deals/d1/move-stage"


def test_an_unreachable_webhook_raises_target_unreachable(
    hook_http: httpx.Client, mock: respx.MockRouter
) -> None:
    mock.post(HOOK).mock(side_effect=httpx.ConnectError("Name or service not known"))

    with pytest.raises(TargetUnreachable) as caught:
        emitter(hook_http).deliver({"event": "conversation_created"})

    assert caught.value.url == f"{BASE}{HOOK}"
    assert caught.value.method == "POST"


# --- WebhookEmitter: signing variants, as the target sees them -----------------------------


def verify(request: httpx.Request, secret: str, *, now: float, window: int = 300) -> str:
    """What a correct receiver concludes: 'ok', 'unsigned', 'bad-signature' or 'stale'."""
    stamp = request.headers.get("X-Chatwoot-Timestamp")
    given = request.headers.get("X-Chatwoot-Signature")
    if stamp is None or given is None:
        return "unsigned"
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + request.content, hashlib.sha256)
    if not hmac.compare_digest("sha256=" + digest.hexdigest(), given):
        return "bad-signature"
    if abs(now - int(stamp)) > window:
        return "stale"
    return "ok"


def conversation_payload() -> dict[str, Any]:
    contact = chatwoot.Contact(id=5120, name="Ana Beatriz")
    conv = chatwoot.Conversation(
        account_id=7,
        account_name="Coronel",
        inbox_id=31,
        inbox_name="Instagram",
        channel="Channel::Instagram",
        display_id=418,
        contact=contact,
        contact_inbox_id=8810,
        source_id="17841400000000000",
        created_at=int(time.time()),
    )
    message = chatwoot.Message(id=99231, content="Oi <3 & tchau", created_at=time.time())
    return chatwoot.message_created(conv, message)


@pytest.fixture
def webhook_route(mock: respx.MockRouter) -> respx.Route:
    return mock.post(HOOK).respond(200, json={"ok": True})


def test_a_valid_delivery_verifies_on_the_raw_bytes(
    hook_http: httpx.Client, webhook_route: respx.Route
) -> None:
    payload = conversation_payload()

    answer = emitter(hook_http).deliver(payload)

    request = webhook_route.calls.last.request
    assert answer.status == 200
    assert request.content == chatwoot.encode(payload)  # Rails-style bytes, not httpx's json=
    assert b"\\u003c3 \\u0026" in request.content
    assert verify(request, HOOK_SECRET, now=time.time()) == "ok"
    assert abs(int(request.headers["X-Chatwoot-Timestamp"]) - time.time()) <= 5
    assert request.headers["Content-Type"] == "application/json"
    uuid.UUID(request.headers["X-Chatwoot-Delivery"])
    assert str(request.url) == f"{BASE}{HOOK}"


def test_an_unsigned_delivery_has_no_signature_headers(
    hook_http: httpx.Client, webhook_route: respx.Route
) -> None:
    emitter(hook_http).deliver(conversation_payload(), signing=Signing.NONE)

    request = webhook_route.calls.last.request
    assert "X-Chatwoot-Signature" not in request.headers
    assert "X-Chatwoot-Timestamp" not in request.headers
    assert "X-Chatwoot-Delivery" in request.headers
    assert verify(request, HOOK_SECRET, now=time.time()) == "unsigned"


def test_a_wrongly_signed_delivery_fails_verification(
    hook_http: httpx.Client, webhook_route: respx.Route
) -> None:
    emitter(hook_http).deliver(conversation_payload(), signing=Signing.WRONG)

    request = webhook_route.calls.last.request
    assert request.headers["X-Chatwoot-Signature"].startswith("sha256=")
    assert verify(request, HOOK_SECRET, now=time.time()) == "bad-signature"


def test_a_stale_delivery_is_correctly_signed_but_outside_the_window(
    hook_http: httpx.Client, webhook_route: respx.Route
) -> None:
    emitter(hook_http).deliver(conversation_payload(), signing=Signing.STALE)

    request = webhook_route.calls.last.request
    assert verify(request, HOOK_SECRET, now=time.time(), window=10**9) == "ok"
    assert verify(request, HOOK_SECRET, now=time.time()) == "stale"
    assert int(request.headers["X-Chatwoot-Timestamp"]) < time.time() - 300


@pytest.mark.parametrize("event", ["message_created", "conversation_created"])
def test_a_tampered_delivery_was_signed_over_other_bytes(
    hook_http: httpx.Client, webhook_route: respx.Route, event: str
) -> None:
    payload = conversation_payload()
    if event == "conversation_created":
        payload = {"event": "conversation_created", **payload["conversation"]}

    emitter(hook_http).deliver(payload, signing=Signing.TAMPERED)

    request = webhook_route.calls.last.request
    original = chatwoot.encode(payload)
    stamp = request.headers["X-Chatwoot-Timestamp"]
    assert request.content != original
    assert verify(request, HOOK_SECRET, now=time.time()) == "bad-signature"
    # the signature is genuine: it matches the bytes before they were changed
    assert request.headers["X-Chatwoot-Signature"] == chatwoot.signature(HOOK_SECRET, int(stamp), original)
    json.loads(request.content)  # still JSON: only the signature can tell


def test_without_a_secret_a_valid_delivery_is_unsigned(
    hook_http: httpx.Client, webhook_route: respx.Route
) -> None:
    emitter(hook_http, secret=None).deliver(conversation_payload())

    assert "X-Chatwoot-Signature" not in webhook_route.calls.last.request.headers


def test_legacy_mode_sends_the_shared_secret(hook_http: httpx.Client, webhook_route: respx.Route) -> None:
    emitter(hook_http, mode="legacy").deliver(conversation_payload())

    request = webhook_route.calls.last.request
    assert request.headers["X-Chatwoot-Signature"] == HOOK_SECRET
    assert "X-Chatwoot-Timestamp" not in request.headers


def test_legacy_mode_wrong_secret_is_not_the_secret(
    hook_http: httpx.Client, webhook_route: respx.Route
) -> None:
    emitter(hook_http, mode="legacy").deliver(conversation_payload(), signing=Signing.WRONG)

    assert webhook_route.calls.last.request.headers["X-Chatwoot-Signature"] != HOOK_SECRET


def test_prepare_freezes_event_bytes_and_headers(hook_http: httpx.Client) -> None:
    payload = conversation_payload()

    delivery = emitter(hook_http).prepare(payload)

    assert delivery.event == "message_created"
    assert delivery.body == chatwoot.encode(payload)
    assert delivery.delivery_id == delivery.headers["X-Chatwoot-Delivery"]
    assert delivery.delivery_id != emitter(hook_http).prepare(payload).delivery_id


def test_replaying_a_delivery_sends_identical_bytes_and_headers(
    hook_http: httpx.Client, mock: respx.MockRouter
) -> None:
    route = mock.post(HOOK).mock(
        side_effect=[
            httpx.Response(200, json={"ok": True}),
            httpx.Response(200, json={"ok": True, "ignored": "duplicate"}),
        ]
    )
    hook = emitter(hook_http)
    delivery = hook.prepare(conversation_payload())

    first = hook.send(delivery)
    again = hook.send(delivery)

    assert route.call_count == 2
    one, two = (call.request for call in route.calls)
    assert one.content == two.content == delivery.body
    for name in (
        "X-Chatwoot-Delivery",
        "X-Chatwoot-Timestamp",
        "X-Chatwoot-Signature",
        "Content-Type",
    ):
        assert one.headers[name] == two.headers[name] == delivery.headers[name]
    assert first.ignored is None
    assert again.ignored == "duplicate"


def test_send_raw_signs_arbitrary_bytes_unless_told_not_to(
    hook_http: httpx.Client, mock: respx.MockRouter
) -> None:
    route = mock.post(HOOK).respond(400, text="Invalid JSON")
    hook = emitter(hook_http)

    signed = hook.send_raw(b'{"event": "message_created",')
    unsigned = hook.send_raw(b"not json", sign=False)

    first, second = (call.request for call in route.calls)
    assert first.content == b'{"event": "message_created",'
    assert verify(first, HOOK_SECRET, now=time.time()) == "ok"
    assert verify(second, HOOK_SECRET, now=time.time()) == "unsigned"
    assert signed.status == 400 and signed.body == {"raw": "Invalid JSON"}
    assert unsigned.status == 400


def test_first_message_delivers_conversation_then_message_signed(
    make_org: Any, hook_http: httpx.Client, webhook_route: respx.Route
) -> None:
    org = make_org()
    conversations = Conversations(
        organisation=org, crm_webhook=emitter(hook_http), data=DataFactory("run1", seed=3)
    )
    person = DataFactory("run1", seed=3).instagram_person()

    sent = conversations.first_message("instagram", person, "Oi!")

    events = [json.loads(call.request.content)["event"] for call in webhook_route.calls]
    assert events == ["conversation_created", "message_created"]
    assert [a.status for a in sent.answers] == [200, 200]
    for call in webhook_route.calls:
        assert verify(call.request, HOOK_SECRET, now=time.time()) == "ok"
    delivered = json.loads(webhook_route.calls.last.request.content)
    assert delivered["conversation"]["contact_inbox"]["source_id"] == person.igsid
    assert delivered["inbox"]["id"] == org.inboxes["instagram"].id
    assert len({d.delivery_id for d in sent.deliveries}) == 2


# --- exchange recording ----------------------------------------------------------------------


def test_recording_captures_each_exchange(crm_http: httpx.Client, mock: respx.MockRouter) -> None:
    mock.post(f"{API}/contacts").respond(201, json={"data": {"id": "c1"}, "action": "created"})

    with recording(ExchangeLog()) as log:
        crm_http.post(f"{API}/contacts", json={"name": "Ana", "phone": "+5511987654321"})

    assert len(log.exchanges) == 1
    exchange = log.exchanges[0]
    assert exchange.system == "crm"
    assert exchange.method == "POST"
    assert exchange.url == f"{BASE}{API}/contacts"
    assert exchange.status == 201
    assert json.loads(exchange.request_body) == {"name": "Ana", "phone": "+5511987654321"}
    assert json.loads(exchange.response_body) == {"data": {"id": "c1"}, "action": "created"}
    assert exchange.request_headers["x-api-key"].startswith("«redacted:")  # by name, when recorded
    assert API_KEY not in json.dumps(exchange.as_dict())
    assert "user-agent" not in exchange.request_headers
    assert "host" not in exchange.request_headers
    assert "content-length" not in exchange.request_headers
    assert exchange.response_headers["content-type"] == "application/json"
    assert exchange.elapsed_ms >= 0
    as_dict = exchange.as_dict()
    assert as_dict["request"]["method"] == "POST"
    assert as_dict["response"]["status"] == 201
    assert set(as_dict) == {"system", "request", "response", "elapsed_ms"}


def test_recording_measures_elapsed_time(
    crm_http: httpx.Client, mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SimpleNamespace(now=100.0)
    monkeypatch.setattr("golive.clients.http.time", SimpleNamespace(perf_counter=lambda: clock.now))

    def slow_server(request: httpx.Request) -> httpx.Response:
        clock.now += 0.25  # the target takes 250 ms to answer
        return httpx.Response(200, json={})

    mock.get(f"{API}/me").mock(side_effect=slow_server)

    with recording(ExchangeLog()) as log:
        crm_http.get(f"{API}/me")
        crm_http.get(f"{API}/me")

    assert [e.elapsed_ms for e in log.exchanges] == [pytest.approx(250.0)] * 2
    assert sum(e.elapsed_ms for e in log.exchanges) == pytest.approx(500.0)


def test_recording_captures_failed_answers_too(crm: CrmClient, mock: respx.MockRouter) -> None:
    mock.get(f"{API}/deals/d1").respond(404, json={"error": "Deal not found", "code": "NOT_FOUND"})

    with recording(ExchangeLog()) as log:
        crm.deal_answer("d1")

    assert [(e.method, e.status) for e in log.exchanges] == [("GET", 404)]
    assert "Deal not found" in log.exchanges[0].response_body


def test_recording_keeps_the_raw_webhook_bytes(hook_http: httpx.Client, webhook_route: respx.Route) -> None:
    payload = conversation_payload()
    payload["conversation"]["contact_inbox"].pop("pubsub_token")  # a secret: redacted when recorded

    with recording(ExchangeLog()) as log:
        emitter(hook_http).deliver(payload)

    exchange = log.exchanges[0]
    assert exchange.system == "crm-webhook"
    assert exchange.request_body == chatwoot.encode(payload).decode()
    signature = exchange.request_headers["x-chatwoot-signature"]
    assert signature.startswith("sha256=") and "«redacted:" in signature  # the scheme, not the HMAC


def test_recording_redacts_the_contacts_pubsub_token_by_name(
    hook_http: httpx.Client, webhook_route: respx.Route
) -> None:
    payload = conversation_payload()
    token = payload["conversation"]["contact_inbox"]["pubsub_token"]

    with recording(ExchangeLog()) as log:
        emitter(hook_http).deliver(payload)

    body = json.loads(log.exchanges[0].request_body)
    assert token not in log.exchanges[0].request_body
    assert body["conversation"]["contact_inbox"]["pubsub_token"].startswith("«redacted:")
    assert body["conversation"]["id"] == payload["conversation"]["id"]  # the rest is kept


def test_a_huge_body_is_truncated_in_the_evidence(crm_http: httpx.Client, mock: respx.MockRouter) -> None:
    mock.get(f"{API}/contacts").respond(200, text="y" * (BODY_LIMIT + 5000))

    with recording(ExchangeLog()) as log:
        crm_http.get(f"{API}/contacts")

    body = log.exchanges[0].response_body
    assert body.startswith("y" * BODY_LIMIT)
    assert len(body) < BODY_LIMIT + 100
    assert str(BODY_LIMIT + 5000) in body


def test_recording_restores_the_previous_log(crm_http: httpx.Client, mock: respx.MockRouter) -> None:
    mock.get(f"{API}/me").respond(200, json={})
    outer, inner = ExchangeLog(), ExchangeLog()

    with recording(outer):
        with recording(inner):
            crm_http.get(f"{API}/me")
        assert active_log() is outer
        crm_http.get(f"{API}/me")

    assert len(inner.exchanges) == 1
    assert len(outer.exchanges) == 1
    assert active_log() is not outer


def test_recording_is_restored_after_an_error(crm_http: httpx.Client) -> None:
    before = active_log()
    log = ExchangeLog()

    with pytest.raises(RuntimeError), recording(log):
        assert active_log() is log
        raise RuntimeError("scenario failed")

    assert active_log() is before


def test_drain_hands_over_the_exchanges_once(crm_http: httpx.Client, mock: respx.MockRouter) -> None:
    mock.get(f"{API}/me").respond(200, json={})

    with recording(ExchangeLog()) as log:
        crm_http.get(f"{API}/me")
        crm_http.get(f"{API}/me")

    assert len(log.drain()) == 2
    assert log.drain() == []


def test_concurrent_requests_are_all_recorded(crm_http: httpx.Client, mock: respx.MockRouter) -> None:
    mock.get(path__regex=rf"{API}/deals/d(?P<n>\d+)").mock(
        side_effect=lambda request, n: httpx.Response(200, json={"n": int(n)})
    )
    threads: set[int] = set()

    def fetch(n: int) -> int:
        threads.add(threading.get_ident())
        return crm_http.get(f"{API}/deals/d{n}").json()["n"]

    with recording(ExchangeLog()) as log, ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(fetch, range(200)))

    assert results == list(range(200))
    assert len(threads) > 1
    assert len(log.exchanges) == 200
    assert {e.url for e in log.exchanges} == {f"{BASE}{API}/deals/d{n}" for n in range(200)}
    assert {json.loads(e.response_body)["n"] for e in log.exchanges} == set(range(200))


def test_concurrent_replays_of_one_delivery_are_all_recorded(
    make_org: Any, hook_http: httpx.Client, webhook_route: respx.Route
) -> None:
    conversations = Conversations(
        organisation=make_org(), crm_webhook=emitter(hook_http), data=DataFactory("run1", seed=5)
    )
    person = DataFactory("run1", seed=5).whatsapp_person()

    with recording(ExchangeLog()) as log:
        sent = conversations.first_message("whatsapp", person, "Oi", copies=8)

    assert len(sent.answers) == 16
    assert webhook_route.call_count == 16
    assert len(log.exchanges) == 16
    bodies = {call.request.content for call in webhook_route.calls}
    assert bodies == {d.body for d in sent.deliveries}
    ids = [call.request.headers["X-Chatwoot-Delivery"] for call in webhook_route.calls]
    assert sorted(set(ids)) == sorted(d.delivery_id for d in sent.deliveries)
    assert all(ids.count(i) == 8 for i in set(ids))


# --- racing deliveries, raw calls, the sandbox's log line --------------------------------------


def test_copies_released_together_all_arrive_and_each_gets_its_answer(
    hook_http: httpx.Client, mock: respx.MockRouter
) -> None:
    inside = threading.Semaphore(0)
    seen = 0
    lock = threading.Lock()

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal seen
        with lock:
            seen += 1
        inside.release()
        return httpx.Response(200, json={"success": True})

    mock.post(HOOK).mock(side_effect=answer)
    delivery = emitter(hook_http).prepare({"event": "conversation_created"})

    answers = emitter(hook_http).send_at_once(delivery, 8)

    assert seen == 8 and [a.status for a in answers] == [200] * 8
    assert {a.event for a in answers} == {"conversation_created"}


def test_different_deliveries_released_together_keep_their_order_in_the_answers(
    hook_http: httpx.Client, mock: respx.MockRouter
) -> None:
    mock.post(HOOK).mock(side_effect=lambda r: httpx.Response(200, json={"got": json.loads(r.content)["n"]}))
    hook = emitter(hook_http)
    deliveries = [hook.prepare({"event": "conversation_created", "n": n}) for n in range(5)]

    answers = hook.send_together(deliveries)

    assert [a.body["got"] for a in answers] == [0, 1, 2, 3, 4]


def test_a_webhook_5xx_keeps_the_sandboxs_log_line(hook_http: httpx.Client, mock: respx.MockRouter) -> None:
    mock.post(HOOK).respond(
        500, json={"error": "Internal server error"}, headers={"X-Sandbox-Log": "boom: created_at"}
    )

    answer = emitter(hook_http).deliver({"event": "message_created"})

    assert (answer.status, answer.event, answer.log_line) == (500, "message_created", "boom: created_at")


def test_raw_sends_the_url_and_bytes_as_given(crm: CrmClient, mock: respx.MockRouter) -> None:
    route = mock.get(f"{API}/contacts").respond(400, json={"error": "bad", "code": "BAD_REQUEST"})

    answer = crm.raw("GET", f"{API}/contacts?q=%ED%A0%80")

    assert answer.status == 400 and answer.code == "BAD_REQUEST"
    assert route.calls.last.request.url.raw_path.endswith(b"?q=%ED%A0%80")


def test_an_answer_describes_the_fields_it_was_sent_and_the_log_line(
    crm: CrmClient, mock: respx.MockRouter
) -> None:
    mock.post(f"{API}/deals/{DEAL['id']}/move-stage").respond(
        422, json={"error": "Invalid payload", "code": "VALIDATION_ERROR"}
    )

    answer = crm.move_deal(DEAL["id"], stage="Proposta", ai_summary="resumo")

    assert answer.describe() == (
        "422 VALIDATION_ERROR Invalid payload (the request carried to_stage_label, ai_summary)"
    )


def test_reassign_deal_patches_the_contact(crm: CrmClient, mock: respx.MockRouter) -> None:
    route = mock.patch(f"{API}/deals/{DEAL['id']}").respond(200, json={"data": DEAL})

    deal = crm.reassign_deal(DEAL["id"], DEAL["contact_id"])

    assert sent_json(route) == {"contact_id": DEAL["contact_id"]}
    assert deal.id == DEAL["id"]


def test_find_contacts_passes_the_lookup_as_query(crm: CrmClient, mock: respx.MockRouter) -> None:
    route = mock.get(f"{API}/contacts").respond(200, json={"data": [{"id": "c1"}], "nextCursor": None})

    found = crm.find_contacts(phone="+5511987654321")

    assert found == [{"id": "c1"}]
    assert route.calls.last.request.url.params["phone"] == "+5511987654321"
