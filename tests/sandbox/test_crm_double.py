"""Contract tests of the CRM double: hostile input never gets a 5xx (webhook and public API), a
5xx a fault causes carries its log line, and the behaviours the §7 faults break are there
without them. Everything over HTTP against a running sandbox, as the suite sees it."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from golive.config import load_profile_file
from golive.runtime.sandbox_process import SandboxHandle, start

ACCOUNT, PILOT_IG, PILOT_WA = 7, 31, 30


@dataclass
class Crm:
    http: httpx.Client  # public API, with the pilot's key
    hook: httpx.Client  # the webhook, no key
    control: httpx.Client
    secret: str
    organization_id: str

    def deliver(self, body: bytes, *, content_type: str = "application/json") -> httpx.Response:
        ts = str(int(time.time()))
        digest = hmac.new(self.secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": content_type,
            "X-Chatwoot-Timestamp": ts,
            "X-Chatwoot-Signature": f"sha256={digest}",
        }
        return self.hook.post("/api/chatwoot/webhook", content=body, headers=headers)

    def faults(self, *names: str) -> None:
        assert self.control.put("/faults", json={"active": list(names)}).status_code == 200


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    handle = start()
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def crm(sandbox: SandboxHandle) -> Iterator[Crm]:
    org = load_profile_file(sandbox.profiles_dir / "sandbox-pilot.toml", sandbox.secrets)
    assert org.api_key and org.webhook_secret and org.control_url and org.control_token
    clients = (
        httpx.Client(base_url=org.crm_base_url, headers={"X-Api-Key": org.api_key.reveal()}, timeout=30),
        httpx.Client(base_url=org.crm_base_url, timeout=30),
        httpx.Client(
            base_url=org.control_url,
            headers={"X-Golive-Control-Token": org.control_token.reveal()},
            timeout=30,
        ),
    )
    yield Crm(*clients, org.webhook_secret.reveal(), str(org.organization_id))
    clients[2].put("/faults", json={"active": []})
    for client in clients:
        client.close()


def conversation_created(conversation_id: int, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "event": "conversation_created",
        "id": conversation_id,
        "inbox_id": PILOT_IG,
        "channel": "Channel::Instagram",
        "account": {"id": ACCOUNT, "name": "Lagosta Sandbox"},
        "status": "open",
        "labels": [],
        "unread_count": 1,
        "contact_inbox": {"source_id": "17841400000099001"},
        "meta": {"sender": {"id": 5120, "name": "Ana Beatriz", "phone_number": None}, "assignee": None},
        "messages": [],
    }
    return {**payload, **overrides}


def message_created(conversation_id: int, message_id: int, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "event": "message_created",
        "id": message_id,
        "content": "Oi",
        "message_type": "incoming",
        "created_at": "2026-06-10T12:00:05.418Z",
        "account": {"id": ACCOUNT, "name": "Lagosta Sandbox"},
        "inbox": {"id": PILOT_IG, "name": "Instagram"},
        "sender": {"id": 5120, "name": "Ana Beatriz"},
        "conversation": {"id": conversation_id, "inbox_id": PILOT_IG, "channel": "Channel::Instagram"},
    }
    return {**payload, **overrides}


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


# --- hostile deliveries: a clear 4xx, never a 5xx, nothing written --------------------------------

HOSTILE_DELIVERIES: dict[str, bytes] = {
    "NUL byte in a name": encode(
        conversation_created(910_000_001, meta={"sender": {"id": 1, "name": "Ana\x00Bea"}})
    ),
    "lone surrogate in content": encode(message_created(910_000_002, 1)).replace(b'"Oi"', b'"\\ud800"'),
    "JSON nested 50,000 deep": b'{"event":"conversation_created","x":' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    "id beyond 64 bits": encode(conversation_created(2**70)),
    "id beyond the int column": encode(conversation_created(2**31)),
    "id in superscript digits": encode(conversation_created(910_000_003, id="²³")),
    "created_at that is not a date": encode(
        message_created(910_000_004, 2, created_at="2024-13-45T99:99:99Z")
    ),
    "created_at epoch beyond year 9999": encode(message_created(910_000_005, 3, created_at=1e20)),
    "NaN unread count": encode(conversation_created(910_000_006)).replace(
        b'"unread_count": 1', b'"unread_count": NaN'
    ),
    "assignee that is not an object": encode(
        conversation_created(910_000_007, meta={"sender": {"id": 1}, "assignee": "Joana"})
    ),
    "assignee id that is not a number": encode(
        conversation_created(910_000_008, meta={"sender": {"id": 1}, "assignee": {"id": "abc"}})
    ),
    "labels that are not strings": encode(conversation_created(910_000_009, labels=[{"x": 1}])),
    "attachments that are not objects": encode(message_created(910_000_010, 4, attachments=["x"])),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_DELIVERIES))
def test_a_hostile_delivery_gets_a_clear_4xx(crm: Crm, case: str) -> None:
    answer = crm.deliver(HOSTILE_DELIVERIES[case])

    assert 400 <= answer.status_code < 500, f"{case}: {answer.status_code} {answer.text}"
    assert answer.json().get("error")


def test_a_delivery_with_a_wrong_content_type_is_refused_with_415(crm: Crm) -> None:
    answer = crm.deliver(encode(conversation_created(910_000_020)), content_type="text/plain")

    assert answer.status_code == 415


def test_a_5xx_carries_the_log_line_that_explains_it(crm: Crm) -> None:
    crm.faults("iso-created-at-500")
    try:
        answer = crm.deliver(encode(message_created(910_000_030, 910_000_031)))
    finally:
        crm.faults()

    assert answer.status_code == 500
    assert answer.json() == {"error": "Internal server error"}
    assert "created_at" in answer.headers["X-Sandbox-Log"]


def test_a_real_format_message_without_a_link_yet_is_cached(crm: Crm) -> None:
    answer = crm.deliver(encode(message_created(910_000_040, 910_000_041)))

    assert answer.status_code == 200 and answer.json() == {"success": True}


# --- the public API: hostile calls ----------------------------------------------------------------

HOSTILE_CALLS: dict[str, tuple[str, str, bytes | None, str | None]] = {
    "NUL in a name": (
        "POST",
        "/api/public/v1/contacts",
        b'{"name":"A\\u0000B","phone":"+5511987650001"}',
        None,
    ),
    "lone surrogate in a name": (
        "POST",
        "/api/public/v1/contacts",
        b'{"name":"\\ud800","phone":"+5511987650002"}',
        None,
    ),
    "NUL in a search": ("GET", "/api/public/v1/contacts?q=a%00b", None, None),
    "invalid UTF-8 in a search": ("GET", "/api/public/v1/contacts?q=%ED%A0%80", None, None),
    "NUL in a path": ("GET", "/api/public/v1/boards/a%00b/stages", None, None),
    "nested 50,000 deep": (
        "POST",
        "/api/public/v1/contacts",
        b'{"a":' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        None,
    ),
    "5 MB body": ("POST", "/api/public/v1/contacts", b'{"name":"' + b"x" * 5_000_000 + b'"}', None),
    "20,000-character name": (
        "POST",
        "/api/public/v1/contacts",
        json.dumps({"name": "x" * 20_000, "phone": "+5511987650003"}).encode(),
        None,
    ),
    "form-encoded body": (
        "POST",
        "/api/public/v1/contacts",
        b"name=Ana&phone=%2B5511987650004",
        "application/x-www-form-urlencoded",
    ),
    "NaN deal value": (
        "POST",
        "/api/public/v1/deals",
        b'{"title":"x","board_key":"atendimento","value":NaN}',
        None,
    ),
    "value beyond 64 bits": (
        "POST",
        "/api/public/v1/deals",
        json.dumps({"title": "x", "board_key": "atendimento", "value": 10**30}).encode(),
        None,
    ),
    "stage id that is not a uuid": (
        "POST",
        "/api/public/v1/deals",
        json.dumps(
            {
                "title": "x",
                "board_key": "atendimento",
                "stage_id": "abc",
                "contact": {"name": "A", "phone": "+5511987650005"},
            }
        ).encode(),
        None,
    ),
    "deal id beyond 64 bits": ("GET", f"/api/public/v1/deals/{2**70}", None, None),
    "patch to an unknown contact": (
        "PATCH",
        f"/api/public/v1/deals/{uuid.uuid4()}",
        b'{"contact_id":"abc"}',
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_CALLS))
def test_a_hostile_call_gets_a_clear_4xx(crm: Crm, case: str) -> None:
    method, url, body, content_type = HOSTILE_CALLS[case]
    headers = {"Content-Type": content_type or "application/json"} if body is not None else {}

    answer = crm.http.request(method, url, content=body, headers=headers)

    assert 400 <= answer.status_code < 500, f"{case}: {answer.status_code} {answer.text[:200]}"
    assert answer.json().get("code") in ("BAD_REQUEST", "VALIDATION_ERROR", "NOT_FOUND")


@pytest.mark.parametrize("limit", ["²", "0", "251", "-1", "1e3", "99999999999999999999"])
def test_a_page_size_that_is_not_1_to_250_is_refused_as_the_document_declares(crm: Crm, limit: str) -> None:
    # The served document declares `limit` an integer 1–250 (LagostaCRM's own openapi.ts does);
    # issue 16: Schemathesis found `limit=251` accepted. Never a 5xx either.
    answer = crm.http.get("/api/public/v1/contacts", params={"limit": limit})

    assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR", answer.text


# --- the public API: what the §7 faults break -----------------------------------------------------


def _contact(crm: Crm, **fields: str) -> dict[str, Any]:
    answer = crm.http.post("/api/public/v1/contacts", json=fields)
    assert answer.status_code in (200, 201), answer.text
    data = answer.json()["data"]
    assert isinstance(data, dict)
    return data


def test_an_upsert_updates_only_what_it_was_sent(crm: Crm) -> None:
    phone = "+5511987650101"
    _contact(crm, name="Ana", phone=phone, email="ana@example.com", notes="varanda", source="SITE")

    updated = _contact(crm, phone=phone, role="Compras")

    assert (updated["email"], updated["notes"], updated["source"]) == ("ana@example.com", "varanda", "SITE")
    assert (updated["status"], updated["stage"], updated["role"]) == ("ACTIVE", "LEAD", "Compras")


def test_a_move_into_a_stage_held_by_another_open_deal_is_a_409(crm: Crm) -> None:
    stages = crm.http.get("/api/public/v1/boards/atendimento/stages").json()["data"]
    contact = _contact(crm, name="Bia", phone="+5511987650102")
    helper = _contact(crm, name="Helper", phone="+5511987650103")
    first = crm.http.post(
        "/api/public/v1/deals", json={"title": "a", "board_key": "atendimento", "contact_id": contact["id"]}
    ).json()["data"]
    second = crm.http.post(
        "/api/public/v1/deals",
        json={
            "title": "b",
            "board_key": "atendimento",
            "contact_id": helper["id"],
            "stage_id": stages[1]["id"],
        },
    ).json()["data"]
    patched = crm.http.patch(f"/api/public/v1/deals/{second['id']}", json={"contact_id": contact["id"]})
    assert patched.status_code == 200 and patched.json()["data"]["contact_id"] == contact["id"]

    moved = crm.http.post(
        f"/api/public/v1/deals/{first['id']}/move-stage", json={"to_stage_id": stages[1]["id"]}
    )

    assert moved.status_code == 409
    assert "already has another open deal" in moved.json()["error"]
