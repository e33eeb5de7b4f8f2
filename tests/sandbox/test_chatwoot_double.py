"""Contract tests of the Chatwoot double: its API answers like Chatwoot, and it delivers real
Chatwoot wire-format webhooks, signed, to the right targets, once, in order.

Everything goes over HTTP: the double and a receiver are both served on loopback with
`golive.sandbox.servers.serve`; the receiver records the raw bytes it is sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from golive.sandbox.chatwoot import (
    AccountSetup,
    AutomationRuleSetup,
    ChatwootDouble,
    InboxSetup,
    WebhookSetup,
)
from golive.sandbox.chatwoot.double import CHATWOOT_VERSION
from golive.sandbox.servers import RunningServer, serve
from golive.waiting import eventually

TOKEN = "cw-test-" + secrets.token_hex(8)
BOT_TOKEN = "cw-bot-" + secrets.token_hex(8)
ACCOUNT, OTHER_ACCOUNT = 7, 8
WA, IG, API, API_BROKEN, API_UNSIGNED, API_SLOW = 30, 31, 32, 33, 34, 35
OTHER_WA, OTHER_API = 40, 42
CONVERSATION_EVENTS = (
    "conversation_created",
    "conversation_status_changed",
    "conversation_updated",
)
ALL_EVENTS = (*CONVERSATION_EVENTS, "message_created", "message_updated", "contact_created")
IGSID = "1789456123000456"

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SIGNATURE = re.compile(r"^sha256=[0-9a-f]{64}$")

CONVERSATION_KEYS = {
    "additional_attributes", "can_reply", "channel", "contact_inbox", "id", "inbox_id",
    "messages", "labels", "meta", "status", "custom_attributes", "snoozed_until",
    "unread_count", "first_reply_created_at", "priority", "waiting_since",
    "agent_last_seen_at", "contact_last_seen_at", "last_activity_at", "timestamp",
    "created_at", "updated_at", "account",
}  # fmt: skip
MESSAGE_KEYS = {
    "id", "content", "content_type", "content_attributes", "additional_attributes",
    "message_type", "private", "source_id", "created_at", "account", "inbox", "sender",
    "conversation",
}  # fmt: skip
CONTACT_INBOX_KEYS = {
    "id", "contact_id", "inbox_id", "source_id", "created_at", "updated_at", "hmac_verified",
    "pubsub_token",
}  # fmt: skip
CONTACT_PUSH_KEYS = {
    "additional_attributes", "custom_attributes", "email", "id", "identifier", "name",
    "phone_number", "thumbnail", "blocked", "type",
}  # fmt: skip
CONTACT_WEBHOOK_KEYS = {
    "account", "additional_attributes", "avatar", "custom_attributes", "email", "id",
    "identifier", "name", "phone_number", "thumbnail", "blocked",
}  # fmt: skip
PUSH_MESSAGE_KEYS = {
    "id", "content", "account_id", "inbox_id", "conversation_id", "message_type", "created_at",
    "updated_at", "private", "status", "source_id", "content_type", "content_attributes",
    "sender_type", "sender_id", "external_source_ids", "additional_attributes",
    "processed_message_content", "sentiment", "conversation", "sender",
}  # fmt: skip


# --- the receiver ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        value = json.loads(self.body)
        assert isinstance(value, dict)
        return value

    @property
    def event(self) -> str:
        return str(self.json["event"])


class Receiver:
    """Records every POST with its raw bytes. `/fail/…` answers 500; `/hang/…` holds the request
    until the test releases it (a receiver that stops answering, not a sleep)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[Received] = []
        self.release = threading.Event()
        self.server: RunningServer | None = None

    async def _handle(self, request: Request) -> JSONResponse:
        body = await request.body()
        record = Received(request.url.path, {k.lower(): v for k, v in request.headers.items()}, body)
        with self._lock:
            self._records.append(record)
        if request.url.path.startswith("/hang"):
            await anyio.to_thread.run_sync(self.release.wait, 30)
        if request.url.path.startswith("/fail"):
            return JSONResponse({"error": "receiver is down"}, status_code=500)
        return JSONResponse({"ok": True})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{rest:path}", self._handle, methods=["POST"])])

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def at(self, path: str, event: str | None = None) -> list[Received]:
        with self._lock:
            got = [r for r in self._records if r.path == path]
        return [r for r in got if event is None or r.event == event]

    def events(self, path: str) -> list[str]:
        return [r.event for r in self.at(path)]

    def wait_for(
        self, path: str, count: int, event: str | None = None, *, timeout: float = 10.0
    ) -> list[Received]:
        return eventually(
            lambda: self.at(path, event),
            lambda got: len(got) >= count,
            timeout=timeout,
            what=f"{count} {event or 'event'} deliveries at {path}",
        )


# --- fixtures --------------------------------------------------------------------------------


@dataclass
class Secrets:
    crm: str
    messages_only: str
    bound_ig: str
    broken: str
    api_inbox: str
    api_broken: str
    api_slow: str
    other_crm: str
    other_api: str


@dataclass
class Sandbox:
    double: ChatwootDouble
    url: str
    receiver: Receiver
    secrets: Secrets
    client: httpx.Client  # account 7, authenticated

    def raw(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def deliveries(self) -> list[dict[str, Any]]:
        with self.raw() as client:
            answer = client.get("/__double/deliveries")
        assert answer.status_code == 200
        entries = answer.json()["deliveries"]
        assert isinstance(entries, list)
        return entries


def _setup(receiver_url: str, keys: Secrets) -> list[AccountSetup]:
    r = receiver_url
    return [
        AccountSetup(
            ACCOUNT,
            "Coronel Staging",
            inboxes=[
                InboxSetup(WA, "WhatsApp Coronel", "Channel::Whatsapp"),
                InboxSetup(IG, "Instagram Coronel", "Channel::Instagram"),
                InboxSetup(API, "API Coronel", "Channel::Api", f"{r}/api-inbox", keys.api_inbox),
                InboxSetup(API_BROKEN, "API quebrada", "Channel::Api", f"{r}/fail/api", keys.api_broken),
                InboxSetup(API_UNSIGNED, "API antiga", "Channel::Api", f"{r}/unsigned", None),
                InboxSetup(API_SLOW, "API lenta", "Channel::Api", f"{r}/hang/api", keys.api_slow),
            ],
            webhooks=[
                WebhookSetup(1, f"{r}/crm", ALL_EVENTS, keys.crm, name="CRM"),
                WebhookSetup(2, f"{r}/messages-only", ("message_created",), keys.messages_only),
                WebhookSetup(
                    3,
                    f"{r}/bound-ig",
                    ("conversation_created", "message_created"),
                    keys.bound_ig,
                    inbox_id=IG,
                ),
                WebhookSetup(4, f"{r}/fail/hook", ("message_created",), keys.broken),
            ],
        ),
        AccountSetup(
            OTHER_ACCOUNT,
            "Emporio Staging",
            inboxes=[
                InboxSetup(OTHER_WA, "WhatsApp Emporio", "Channel::Whatsapp"),
                InboxSetup(OTHER_API, "API Emporio", "Channel::Api", f"{r}/other-api", keys.other_api),
            ],
            webhooks=[WebhookSetup(5, f"{r}/other-crm", ALL_EVENTS, keys.other_crm)],
        ),
    ]


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    made: list[tuple[Sandbox, RunningServer]] = []

    def make(
        *,
        delivery_timeout_s: float = 5.0,
        version: str = CHATWOOT_VERSION,
        auto_assign: bool = False,
        message_first: bool = False,
    ) -> Sandbox:
        receiver = Receiver()
        receiver.server = serve("receiver", receiver.app())
        keys = Secrets(*(secrets.token_urlsafe(18) for _ in range(9)))
        accounts = _setup(receiver.url, keys)
        for inbox in accounts[0].inboxes:
            inbox.auto_assign = auto_assign
        double = ChatwootDouble(
            api_token=TOKEN,
            accounts=accounts,
            delivery_timeout_s=delivery_timeout_s,
            version=version,
            bot_token=BOT_TOKEN,
            message_first=message_first,
        )
        server = serve("chatwoot", double.app())
        client = httpx.Client(
            base_url=f"{server.url}/api/v1/accounts/{ACCOUNT}",
            headers={"api_access_token": TOKEN},
            timeout=10,
        )
        sandbox = Sandbox(double, server.url, receiver, keys, client)
        made.append((sandbox, server))
        return sandbox

    yield make
    for sandbox, server in made:
        sandbox.receiver.release.set()
        sandbox.client.close()
        sandbox.double.close()
        server.stop()
        assert sandbox.receiver.server is not None
        sandbox.receiver.server.stop()


@pytest.fixture
def sb(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return make_sandbox()


# --- helpers ---------------------------------------------------------------------------------


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def new_contact(sb: Sandbox, inbox: int, **fields: Any) -> tuple[int, str | None]:
    body = ok(sb.client.post("/contacts", json={"inbox_id": inbox, **fields}))
    payload = body["payload"]
    return payload["contact"]["id"], payload["contact_inbox"]["source_id"]


def new_conversation(
    sb: Sandbox,
    inbox: int = API,
    *,
    message: dict[str, Any] | None = None,
    contact: dict[str, Any] | None = None,
) -> dict[str, Any]:
    contact_id, source_id = new_contact(sb, inbox, **(contact or {"name": "Ana Beatriz"}))
    body: dict[str, Any] = {"inbox_id": inbox, "contact_id": contact_id, "source_id": source_id}
    if message is not None:
        body["message"] = message
    conversation = ok(sb.client.post("/conversations", json=body))
    assert isinstance(conversation, dict)
    return conversation


def post_message(sb: Sandbox, display_id: int, content: str, **fields: Any) -> dict[str, Any]:
    message = ok(sb.client.post(f"/conversations/{display_id}/messages", json={"content": content, **fields}))
    assert isinstance(message, dict)
    return message


def for_conversation(records: list[Received], display_id: int) -> list[Received]:
    def conversation_id(record: Received) -> Any:
        data = record.json
        return data["conversation"]["id"] if "conversation" in data else data["id"]

    return [r for r in records if conversation_id(r) == display_id]


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- authentication --------------------------------------------------------------------------


def test_the_version_endpoint_needs_no_token(sb: Sandbox) -> None:
    with sb.raw() as client:
        answer = client.get("/api")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"version", "timestamp", "queue_services", "data_services"}
    major, minor, _ = (int(part) for part in body["version"].split("."))
    assert (major, minor) >= (4, 13)  # signs both account webhooks and API-inbox callbacks


def test_a_request_without_token_gets_devises_401(sb: Sandbox) -> None:
    with sb.raw() as client:
        answer = client.get(f"/api/v1/accounts/{ACCOUNT}/inboxes")
    assert answer.status_code == 401
    assert answer.json() == {"errors": ["You need to sign in or sign up before continuing."]}


def test_a_wrong_token_gets_invalid_access_token(sb: Sandbox) -> None:
    with sb.raw() as client:
        for path in ("/inboxes", "/conversations", "/webhooks"):
            answer = client.get(
                f"/api/v1/accounts/{ACCOUNT}{path}", headers={"api_access_token": TOKEN + "x"}
            )
            assert answer.status_code == 401
            assert answer.json() == {"error": "Invalid Access Token"}


def test_an_unknown_account_is_not_found_once_authenticated(sb: Sandbox) -> None:
    with sb.raw() as client:
        for account in ("999", "abc"):
            answer = client.get(f"/api/v1/accounts/{account}/inboxes", headers={"api_access_token": TOKEN})
            assert answer.status_code == 404
            assert answer.json() == {"error": "Resource could not be found"}
        anonymous = client.get("/api/v1/accounts/999/inboxes", headers={"api_access_token": "no"})
        assert anonymous.status_code == 401


# --- inboxes and webhooks --------------------------------------------------------------------


def test_inboxes_are_listed_with_their_channel_and_api_callback(sb: Sandbox) -> None:
    inboxes = {i["id"]: i for i in ok(sb.client.get("/inboxes"))["payload"]}
    assert set(inboxes) == {WA, IG, API, API_BROKEN, API_UNSIGNED, API_SLOW}
    assert inboxes[IG]["channel_type"] == "Channel::Instagram"
    assert inboxes[WA]["channel_type"] == "Channel::Whatsapp"
    assert inboxes[API]["webhook_url"] == f"{sb.receiver.url}/api-inbox"
    assert inboxes[API]["secret"] == sb.secrets.api_inbox
    assert "webhook_url" not in inboxes[WA]  # the jbuilder renders it for API inboxes only
    one = ok(sb.client.get(f"/inboxes/{API}"))
    assert one["name"] == "API Coronel" and one["channel_type"] == "Channel::Api"
    assert sb.client.get(f"/inboxes/{OTHER_API}").status_code == 404  # another account's
    assert sb.client.get("/inboxes/12345").json() == {"error": "Resource could not be found"}


def test_a_created_webhook_gets_a_generated_secret_and_signs_with_it(sb: Sandbox) -> None:
    url = f"{sb.receiver.url}/new-hook"
    created = ok(
        sb.client.post(
            "/webhooks", json={"url": url, "subscriptions": ["conversation_created"], "name": "n8n"}
        )
    )["payload"]["webhook"]
    assert set(created) == {"id", "name", "url", "account_id", "subscriptions", "secret"}
    assert created["url"] == url and created["account_id"] == ACCOUNT and created["name"] == "n8n"
    assert created["subscriptions"] == ["conversation_created"]
    secret = created["secret"]
    assert isinstance(secret, str) and len(secret) == 24 and secret.isalnum()
    listed = ok(sb.client.get("/webhooks"))["payload"]["webhooks"]
    assert [h["id"] for h in listed] == [1, 2, 3, 4, created["id"]]
    assert {h["id"]: h for h in listed}[3]["inbox"] == {"id": IG, "name": "Instagram Coronel"}

    conversation = new_conversation(sb)
    (got,) = sb.receiver.wait_for("/new-hook", 1)
    assert got.json["id"] == conversation["id"]
    timestamp = got.headers["x-chatwoot-timestamp"]
    assert got.headers["x-chatwoot-signature"] == expected_signature(secret, timestamp, got.body)


def test_webhooks_are_validated_updated_and_deleted(sb: Sandbox) -> None:
    bad_events = sb.client.post(
        "/webhooks", json={"url": f"{sb.receiver.url}/x", "subscriptions": ["message_sent"]}
    )
    assert bad_events.status_code == 422
    assert bad_events.json() == {
        "message": "Subscriptions Invalid events",
        "attributes": ["subscriptions"],
    }
    bad_url = sb.client.post("/webhooks", json={"url": "n8n:5678/hook", "subscriptions": ["message_created"]})
    assert bad_url.status_code == 422 and bad_url.json()["message"] == "Url is invalid"
    missing = sb.client.post("/webhooks", json={})
    assert missing.status_code == 422
    assert missing.json() == {"error": "param is missing or the value is empty: webhook"}

    patched = ok(sb.client.patch("/webhooks/2", json={"subscriptions": ["conversation_created"]}))
    hook = patched["payload"]["webhook"]
    assert hook["subscriptions"] == ["conversation_created"]
    assert hook["secret"] == sb.secrets.messages_only  # read-only: never regenerated
    deleted = sb.client.delete("/webhooks/2")
    assert deleted.status_code == 200 and deleted.content == b""
    assert 2 not in [h["id"] for h in ok(sb.client.get("/webhooks"))["payload"]["webhooks"]]
    assert sb.client.delete("/webhooks/2").status_code == 404


# --- contacts --------------------------------------------------------------------------------


def test_contacts_get_a_contact_inbox_with_a_channel_appropriate_source_id(sb: Sandbox) -> None:
    created = ok(
        sb.client.post(
            "/contacts",
            json={"inbox_id": WA, "name": "Carlos Souza", "phone_number": "+5511987654321"},
        )
    )["payload"]
    assert created["contact"]["phone_number"] == "+5511987654321"
    assert created["contact_inbox"]["source_id"] == "5511987654321"  # wa_id: E.164 without +
    assert created["contact_inbox"]["inbox"]["id"] == WA

    _, api_source = new_contact(sb, API, name="Bridge user")
    assert api_source is not None and uuid.UUID(api_source)

    no_igsid = sb.client.post("/contacts", json={"inbox_id": IG, "name": "Sem IGSID"})
    assert no_igsid.status_code == 500  # ContactInboxBuilder: "Unsupported operation …"
    ig_contact, ig_source = new_contact(sb, IG, name="Ana", source_id=IGSID)
    assert ig_source == IGSID
    shown = ok(sb.client.get(f"/contacts/{ig_contact}"))["payload"]
    assert shown["identifier"] is None and shown["phone_number"] is None
    assert [(ci["source_id"], ci["inbox"]["id"]) for ci in shown["contact_inboxes"]] == [(IGSID, IG)]
    assert sb.client.get("/contacts/99999").status_code == 404


def test_contact_validation_and_contact_inboxes_follow_chatwoot(sb: Sandbox) -> None:
    new_contact(sb, WA, name="A", email="Ana@Example.org", phone_number="+5511900000001")
    taken = sb.client.post("/contacts", json={"name": "B", "email": "ana@example.org"})
    assert taken.status_code == 422
    assert taken.json() == {"message": "Email has already been taken", "attributes": ["email"]}
    bad_phone = sb.client.post("/contacts", json={"name": "C", "phone_number": "11 98765-4321"})
    assert bad_phone.status_code == 422
    assert bad_phone.json()["message"] == "Phone number should be in e164 format"

    contact_id, _ = new_contact(sb, WA, name="D", phone_number="+5511900000002")
    not_api = sb.client.post(f"/contacts/{contact_id}/contact_inboxes", json={"inbox_id": IG})
    assert not_api.status_code == 422
    assert not_api.json() == {"error": "Contact Inbox creation is only allowed in API inboxes"}
    linked = ok(
        sb.client.post(f"/contacts/{contact_id}/contact_inboxes", json={"inbox_id": API, "source_id": "br-1"})
    )
    assert linked["source_id"] == "br-1" and linked["inbox"]["id"] == API


# --- messages through the API ----------------------------------------------------------------


def test_incoming_messages_are_only_allowed_on_api_inboxes(sb: Sandbox) -> None:
    wa = new_conversation(sb, WA, contact={"name": "Carlos", "phone_number": "+5511987650001"})
    ig = new_conversation(sb, IG, contact={"name": "Ana", "source_id": IGSID})
    for conversation in (wa, ig):
        refused = sb.client.post(
            f"/conversations/{conversation['id']}/messages",
            json={"content": "oi", "message_type": "incoming"},
        )
        assert refused.status_code == 422
        assert refused.json() == {"error": "Incoming messages are only allowed in Api inboxes"}
        outgoing = post_message(sb, conversation["id"], "Olá! Como posso ajudar?")
        assert outgoing["message_type"] == 1  # the REST view: int
    api = new_conversation(sb, API)
    incoming = post_message(sb, api["id"], "Quero reservar", message_type="incoming")
    assert incoming["message_type"] == 0 and incoming["sender"]["type"] == "contact"
    listed = ok(sb.client.get(f"/conversations/{wa['id']}/messages"))["payload"]
    assert [m["message_type"] for m in listed] == [1]  # the refused message was not stored
    bad_type = sb.client.post(
        f"/conversations/{api['id']}/messages", json={"content": "x", "message_type": "sms"}
    )
    assert bad_type.status_code == 422
    assert bad_type.json() == {"error": "'sms' is not a valid message_type"}


# --- payload shapes (chatwoot-wire-format.md §4) ---------------------------------------------


def test_conversation_created_is_the_conversation_object_at_top_level(sb: Sandbox) -> None:
    conversation = new_conversation(
        sb, message={"content": "Oi! Vocês abrem no domingo?", "message_type": "incoming"}
    )
    (got,) = [
        r
        for r in sb.receiver.wait_for("/crm", 1, "conversation_created")
        if r.json["id"] == conversation["id"]
    ]
    data = got.json
    assert set(data) == CONVERSATION_KEYS | {"event"}
    assert data["event"] == "conversation_created"
    assert "inbox" not in data and "conversation" not in data and "changed_attributes" not in data
    assert data["channel"] == "Channel::Api" and data["inbox_id"] == API
    assert data["account"] == {"id": ACCOUNT, "name": "Coronel Staging"}
    assert data["status"] == "open" and data["labels"] == [] and data["unread_count"] == 1
    for key in ("created_at", "last_activity_at", "timestamp", "waiting_since"):
        assert is_int(data[key]) and data[key] > 1_700_000_000, key
    assert data["agent_last_seen_at"] == 0 and data["contact_last_seen_at"] == 0
    assert isinstance(data["updated_at"], float)

    contact_inbox = data["contact_inbox"]
    assert set(contact_inbox) == CONTACT_INBOX_KEYS
    assert contact_inbox["inbox_id"] == API and ISO_MS.match(contact_inbox["created_at"])
    uuid.UUID(contact_inbox["source_id"])
    sender = data["meta"]["sender"]
    assert set(sender) == CONTACT_PUSH_KEYS and sender["type"] == "contact"
    assert sender["id"] == contact_inbox["contact_id"] and sender["name"] == "Ana Beatriz"
    assert data["meta"]["assignee"] is None

    (message,) = data["messages"]
    assert set(message) == PUSH_MESSAGE_KEYS
    assert message["message_type"] == 0 and is_int(message["message_type"])
    assert is_int(message["created_at"]) and ISO_MS.match(message["updated_at"])
    assert message["conversation_id"] == conversation["id"]
    assert message["content"] == "Oi! Vocês abrem no domingo?"
    assert message["sender_type"] == "Contact" and message["sender"]["type"] == "contact"
    assert message["conversation"]["contact_inbox"] == {"source_id": contact_inbox["source_id"]}


def test_an_instagram_conversation_carries_the_igsid_in_contact_inbox(sb: Sandbox) -> None:
    conversation = new_conversation(sb, IG, contact={"name": "Ana", "source_id": IGSID})
    (got,) = sb.receiver.wait_for("/bound-ig", 1, "conversation_created")
    data = got.json
    assert data["id"] == conversation["id"]
    assert data["channel"] == "Channel::Instagram"
    assert data["contact_inbox"]["source_id"] == IGSID
    assert data["meta"]["sender"]["identifier"] is None
    assert data["messages"] == []  # no chat message yet
    assert data["can_reply"] is False  # no customer message inside Meta's 24 h window


def test_message_created_is_the_message_at_top_level_with_string_type(sb: Sandbox) -> None:
    conversation = new_conversation(sb)
    post_message(sb, conversation["id"], "E aceitam reserva para 6?", message_type="incoming")
    post_message(sb, conversation["id"], "Aceitamos sim!")
    incoming, outgoing = sb.receiver.wait_for("/crm", 2, "message_created")
    for got in (incoming, outgoing):
        data = got.json
        assert set(data) == MESSAGE_KEYS | {"event"}
        assert "channel" not in data and "messages" not in data and "meta" not in data
        assert isinstance(data["message_type"], str)
        assert isinstance(data["created_at"], str) and ISO_MS.match(data["created_at"])
        assert data["inbox"] == {"id": API, "name": "API Coronel"}
        assert data["account"] == {"id": ACCOUNT, "name": "Coronel Staging"}
        nested = data["conversation"]
        assert set(nested) == CONVERSATION_KEYS
        assert nested["id"] == conversation["id"] and nested["channel"] == "Channel::Api"
        assert is_int(nested["messages"][0]["message_type"])
        assert is_int(nested["messages"][0]["created_at"])
    assert incoming.json["message_type"] == "incoming"
    assert incoming.json["content"] == "E aceitam reserva para 6?"
    assert set(incoming.json["sender"]) == CONTACT_WEBHOOK_KEYS  # a contact, no `type`
    assert outgoing.json["message_type"] == "outgoing"
    sender = outgoing.json["sender"]
    assert set(sender) == {"id", "name", "email", "type"} and sender["type"] == "user"
    assert outgoing.json["conversation"]["first_reply_created_at"] is not None


def test_bodies_are_compact_rails_json_with_html_characters_escaped(sb: Sandbox) -> None:
    conversation = new_conversation(sb)
    text = "<b>Tom & Jerry</b> — Você"
    post_message(sb, conversation["id"], text, message_type="incoming")
    (got,) = sb.receiver.wait_for("/crm", 1, "message_created")
    assert b"\\u003cb\\u003eTom \\u0026 Jerry\\u003c/b\\u003e" in got.body
    assert b"<" not in got.body and b">" not in got.body and b"&" not in got.body
    assert "— Você".encode() in got.body  # non-ASCII stays UTF-8
    assert b'": ' not in got.body and b'", "' not in got.body  # compact separators
    assert got.json["content"] == text


# --- signing ---------------------------------------------------------------------------------


def test_every_delivery_is_signed_over_the_raw_bytes_with_its_targets_secret(sb: Sandbox) -> None:
    conversation = new_conversation(sb, message={"content": "oi", "message_type": "incoming"})
    post_message(sb, conversation["id"], "resposta")
    sb.receiver.wait_for("/crm", 4)
    sb.receiver.wait_for("/api-inbox", 3)
    sb.receiver.wait_for("/messages-only", 2)
    sb.double.wait_idle(10)
    by_path = {
        "/crm": sb.secrets.crm,
        "/api-inbox": sb.secrets.api_inbox,  # the channel secret, not the hmac_token
        "/messages-only": sb.secrets.messages_only,
    }
    seen_ids: set[str] = set()
    for path, secret in by_path.items():
        for got in sb.receiver.at(path):
            headers = got.headers
            assert headers["content-type"] == "application/json"
            assert headers["accept"] == "application/json"
            delivery = headers["x-chatwoot-delivery"]
            assert str(uuid.UUID(delivery)) == delivery and delivery not in seen_ids
            seen_ids.add(delivery)
            timestamp = headers["x-chatwoot-timestamp"]
            assert timestamp.isdigit() and abs(time.time() - int(timestamp)) <= 300
            signature = headers["x-chatwoot-signature"]
            assert SIGNATURE.match(signature), signature
            assert hmac.compare_digest(signature, expected_signature(secret, timestamp, got.body))
            assert signature != expected_signature(sb.secrets.other_crm, timestamp, got.body)
            reserialised = json.dumps(got.json).encode()
            assert signature != expected_signature(secret, timestamp, reserialised)
    assert len(seen_ids) == 9  # crm 4 (contact, conversation, 2 messages), api 3, messages 2


def test_an_api_inbox_without_secret_delivers_unsigned(sb: Sandbox) -> None:
    new_conversation(sb, API_UNSIGNED)
    (got,) = sb.receiver.wait_for("/unsigned", 1)
    assert "x-chatwoot-signature" not in got.headers
    assert "x-chatwoot-timestamp" not in got.headers
    uuid.UUID(got.headers["x-chatwoot-delivery"])


# --- targets ---------------------------------------------------------------------------------


def test_account_webhooks_receive_only_their_subscriptions(sb: Sandbox) -> None:
    conversation = new_conversation(sb, message={"content": "oi", "message_type": "incoming"})
    ok(sb.client.post(f"/conversations/{conversation['id']}/toggle_status", json={}))
    sb.receiver.wait_for("/crm", 5)
    sb.double.wait_idle(10)
    assert sb.receiver.events("/crm") == [
        "contact_created",
        "conversation_created",
        "message_created",
        "conversation_status_changed",
        "conversation_updated",
    ]
    assert sb.receiver.events("/messages-only") == ["message_created"]
    assert sb.receiver.events("/other-crm") == []  # another account's webhook
    assert sb.receiver.events("/other-api") == []


def test_an_inbox_bound_webhook_skips_only_message_events_of_other_inboxes(sb: Sandbox) -> None:
    api = new_conversation(sb, API, message={"content": "oi", "message_type": "incoming"})
    ig = new_conversation(sb, IG, contact={"name": "Ana", "source_id": IGSID})
    post_message(sb, ig["id"], "Olá Ana!")
    sb.receiver.wait_for("/bound-ig", 3)
    sb.double.wait_idle(10)
    got = [
        (r.event, r.json["inbox_id"] if "inbox_id" in r.json else r.json["inbox"]["id"])
        for r in sb.receiver.at("/bound-ig")
    ]
    # conversation events carry no `inbox`, so an inbox-bound webhook gets them for every inbox
    assert got == [
        ("conversation_created", API),
        ("conversation_created", IG),
        ("message_created", IG),
    ]
    assert api["id"] != ig["id"]


def test_an_api_inbox_callback_gets_every_event_of_its_inbox_unfiltered(sb: Sandbox) -> None:
    conversation = new_conversation(sb, message={"content": "oi", "message_type": "incoming"})
    display = conversation["id"]
    post_message(sb, display, "resposta")
    post_message(sb, display, "nota interna", private=True)
    ok(sb.client.post(f"/conversations/{display}/labels", json={"labels": ["vip"]}))
    ok(sb.client.post(f"/conversations/{display}/assignments", json={"assignee_id": 1}))
    ok(sb.client.post(f"/conversations/{display}/toggle_status", json={"status": "resolved"}))
    new_conversation(sb, WA, contact={"name": "Outro", "phone_number": "+5511987650002"})
    sb.receiver.wait_for("/api-inbox", 8)
    sb.double.wait_idle(10)
    assert sb.receiver.events("/api-inbox") == [
        "conversation_created",
        "message_created",  # the customer's message
        "message_created",  # our own reply comes back too
        "message_created",  # and the private note
        "conversation_updated",  # labels
        "conversation_updated",  # assignee
        "conversation_status_changed",
        "conversation_updated",  # status
    ]
    private = [r.json for r in sb.receiver.at("/api-inbox", "message_created")][2]
    assert private["private"] is True and private["message_type"] == "outgoing"
    assert all(r.json.get("inbox_id", API) == API for r in sb.receiver.at("/api-inbox"))
    assert "contact_created" not in sb.receiver.events("/api-inbox")


def test_deliveries_leave_in_fifo_order(sb: Sandbox) -> None:
    conversation = new_conversation(sb, message={"content": "m0", "message_type": "incoming"})
    for n in range(1, 6):
        post_message(sb, conversation["id"], f"m{n}", message_type="incoming")
    for path in ("/crm", "/api-inbox"):
        sb.receiver.wait_for(path, 6, "message_created")
        records = for_conversation(sb.receiver.at(path), conversation["id"])
        assert [r.event for r in records] == ["conversation_created"] + ["message_created"] * 6
        contents = [r.json["content"] for r in records[1:]]
        assert contents == [f"m{n}" for n in range(6)]
        ids = [r.json["id"] for r in records[1:]]
        assert ids == sorted(ids)


def test_a_failing_webhook_gets_exactly_one_attempt(sb: Sandbox) -> None:
    conversation = new_conversation(sb, message={"content": "a", "message_type": "incoming"})
    post_message(sb, conversation["id"], "b", message_type="incoming")
    sb.receiver.wait_for("/fail/hook", 2)
    sb.double.wait_idle(10)
    attempts = sb.receiver.at("/fail/hook")
    assert len(attempts) == 2
    assert len({r.headers["x-chatwoot-delivery"] for r in attempts}) == 2
    assert sorted(r.json["content"] for r in attempts) == ["a", "b"]
    logged = [d for d in sb.deliveries() if d["url"].endswith("/fail/hook")]
    assert [(d["status_code"], d["error"]) for d in logged] == [(500, "500 Internal Server Error")] * 2
    assert sorted(d["delivery_id"] for d in logged) == sorted(
        r.headers["x-chatwoot-delivery"] for r in attempts
    )


def test_a_failed_api_inbox_delivery_marks_the_message_failed(sb: Sandbox) -> None:
    conversation = new_conversation(sb, API_BROKEN)
    message = post_message(sb, conversation["id"], "oi", message_type="incoming")

    def stored() -> dict[str, Any]:
        listed = ok(sb.client.get(f"/conversations/{conversation['id']}/messages"))["payload"]
        (found,) = [m for m in listed if m["id"] == message["id"]]
        assert isinstance(found, dict)
        return found

    failed = eventually(stored, lambda m: m["status"] == "failed", timeout=10, what="failed")
    assert failed["content_attributes"]["external_error"] == "500 Internal Server Error"
    (update,) = sb.receiver.wait_for("/crm", 1, "message_updated")
    assert update.json["id"] == message["id"]
    assert update.json["content_attributes"]["external_error"] == "500 Internal Server Error"
    sb.double.wait_idle(10)
    # one attempt each: the conversation, the message, the update; never a retry or a loop
    assert sb.receiver.events("/fail/api") == [
        "conversation_created",
        "message_created",
        "message_updated",
    ]


def test_a_receiver_that_does_not_answer_times_out_once(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(delivery_timeout_s=0.5)
    conversation = new_conversation(sb, API_SLOW)
    entries = eventually(
        lambda: [d for d in sb.deliveries() if d["url"].endswith("/hang/api")],
        lambda got: len(got) >= 1,
        timeout=10,
        what="the timed-out delivery in the log",
    )
    assert entries[0]["status_code"] is None
    assert entries[0]["error"] == "Timed out reading data from server"
    assert entries[0]["event"] == "conversation_created"
    sb.receiver.release.set()
    sb.double.wait_idle(10)
    assert len(sb.receiver.at("/hang/api")) == 1
    assert conversation["id"] >= 5000


# --- activity, status and labels -------------------------------------------------------------


def test_activity_messages_never_fire_message_created(sb: Sandbox) -> None:
    conversation = new_conversation(sb, message={"content": "oi", "message_type": "incoming"})
    display = conversation["id"]
    ok(sb.client.post(f"/conversations/{display}/toggle_status", json={"status": "resolved"}))
    ok(sb.client.post(f"/conversations/{display}/labels", json={"labels": ["reserva"]}))
    post_message(sb, display, "Nota de sistema", message_type="activity")  # allowed, silent
    post_message(sb, display, "depois", message_type="incoming")
    sb.receiver.wait_for("/crm", 2, "conversation_updated")
    sb.receiver.wait_for("/crm", 2, "message_created")
    sb.double.wait_idle(10)
    listed = ok(sb.client.get(f"/conversations/{display}/messages"))["payload"]
    activity = [m for m in listed if m["message_type"] == 2]
    assert [m["content"] for m in activity] == [
        "Conversation was marked resolved by Sandbox Agent",
        "Sandbox Agent added reserva",
        "Nota de sistema",
        "System reopened the conversation due to a new incoming message.",
    ]
    fired = {r.json["id"] for r in sb.receiver.at("/crm", "message_created")}
    assert fired == {m["id"] for m in listed if m["message_type"] != 2}
    updated = sb.receiver.at("/crm", "conversation_updated")[-1].json
    assert updated["messages"][0]["message_type"] == 0  # the newest *chat* message


def test_status_and_label_changes_carry_changed_attributes(sb: Sandbox) -> None:
    conversation = new_conversation(sb)
    display = conversation["id"]
    toggled = ok(sb.client.post(f"/conversations/{display}/toggle_status", json={"status": "resolved"}))
    assert toggled == {
        "meta": {},
        "payload": {
            "success": True,
            "conversation_id": display,
            "current_status": "resolved",
            "snoozed_until": None,
        },
    }
    labels = ok(sb.client.post(f"/conversations/{display}/labels", json={"labels": ["a", "b"]}))
    assert labels == {"payload": ["a", "b"]}
    replaced = ok(sb.client.post(f"/conversations/{display}/labels", json={"labels": ["c"]}))
    assert replaced == {"payload": ["c"]}  # replaces, does not add
    sb.receiver.wait_for("/crm", 3, "conversation_updated")

    (status,) = sb.receiver.at("/crm", "conversation_status_changed")
    assert status.json["status"] == "resolved" and status.json["id"] == display
    assert status.json["changed_attributes"] == [
        {"status": {"previous_value": "open", "current_value": "resolved"}}
    ]
    after_status, first_labels, second_labels = sb.receiver.at("/crm", "conversation_updated")
    assert after_status.json["changed_attributes"][0] == status.json["changed_attributes"][0]
    assert first_labels.json["labels"] == ["a", "b"]
    assert {"label_list": {"previous_value": ["a", "b"], "current_value": ["c"]}} in (
        second_labels.json["changed_attributes"]
    )
    assert set(second_labels.json) == CONVERSATION_KEYS | {"event", "changed_attributes"}
    assert "channel" in second_labels.json and "inbox" not in second_labels.json


def test_an_incoming_message_reopens_a_resolved_conversation(sb: Sandbox) -> None:
    conversation = new_conversation(sb)
    display = conversation["id"]
    ok(sb.client.post(f"/conversations/{display}/toggle_status", json={"status": "resolved"}))
    post_message(sb, display, "voltei", message_type="incoming")
    sb.receiver.wait_for("/crm", 1, "message_created")
    shown = ok(sb.client.get(f"/conversations/{display}"))
    assert shown["status"] == "open"
    changes = [
        r.json["changed_attributes"][0]["status"]
        for r in sb.receiver.at("/crm", "conversation_status_changed")
    ]
    assert changes == [
        {"previous_value": "open", "current_value": "resolved"},
        {"previous_value": "resolved", "current_value": "open"},
    ]


# --- REST shapes -----------------------------------------------------------------------------


def test_conversation_ids_are_display_ids_per_account(sb: Sandbox) -> None:
    first = new_conversation(sb)
    second = new_conversation(sb, WA, contact={"name": "W", "phone_number": "+5511987650003"})
    assert (first["id"], second["id"]) == (5000, 5001)
    with httpx.Client(
        base_url=f"{sb.url}/api/v1/accounts/{OTHER_ACCOUNT}",
        headers={"api_access_token": TOKEN},
        timeout=10,
    ) as other:
        contact = ok(other.post("/contacts", json={"inbox_id": OTHER_API, "name": "X"}))
        source = contact["payload"]["contact_inbox"]["source_id"]
        created = ok(other.post("/conversations", json={"inbox_id": OTHER_API, "source_id": source}))
        assert created["id"] == 5000
        assert other.get("/conversations/5001").status_code == 404
    assert sb.client.get("/conversations/4999").json() == {"error": "Resource could not be found"}


def test_conversations_list_show_and_messages_have_chatwoots_shapes(sb: Sandbox) -> None:
    open_one = new_conversation(sb, message={"content": "oi", "message_type": "incoming"})
    resolved = new_conversation(sb)
    ok(sb.client.post(f"/conversations/{resolved['id']}/toggle_status", json={}))
    listing = ok(sb.client.get("/conversations"))
    assert set(listing) == {"data"} and set(listing["data"]) == {"meta", "payload"}
    assert listing["data"]["meta"] == {
        "mine_count": 0,
        "assigned_count": 0,
        "unassigned_count": 1,
        "all_count": 1,
    }
    assert [c["id"] for c in listing["data"]["payload"]] == [open_one["id"]]
    everything = ok(sb.client.get("/conversations", params={"status": "all"}))["data"]
    assert {c["id"] for c in everything["payload"]} == {open_one["id"], resolved["id"]}

    shown = ok(sb.client.get(f"/conversations/{open_one['id']}"))
    assert shown["meta"]["channel"] == "Channel::Api" and shown["inbox_id"] == API
    assert shown["meta"]["sender"]["name"] == "Ana Beatriz" and shown["status"] == "open"
    assert shown["messages"][0]["content"] == "oi" and shown["unread_count"] == 1

    messages = ok(sb.client.get(f"/conversations/{open_one['id']}/messages"))
    assert set(messages) == {"meta", "payload"}
    assert messages["meta"]["contact"]["type"] == "contact"
    (only,) = messages["payload"]
    assert only["content"] == "oi" and only["message_type"] == 0 and is_int(only["created_at"])
    assert only["conversation_id"] == open_one["id"]


def test_the_delivery_log_names_event_target_and_outcome(sb: Sandbox) -> None:
    conversation = new_conversation(sb)
    entries = eventually(
        sb.deliveries,
        lambda got: len([d for d in got if d["event"] == "conversation_created"]) >= 3,
        timeout=10,
        what="three conversation_created deliveries in the log",
    )
    created = [d for d in entries if d["event"] == "conversation_created"]
    assert {(d["target"], d["url"].removeprefix(sb.receiver.url)) for d in created} == {
        ("account_webhook", "/crm"),
        ("account_webhook", "/bound-ig"),  # bound to IG, but conversation events have no inbox
        ("api_inbox_webhook", "/api-inbox"),
    }
    assert len(created) == 3
    for entry in created:
        assert entry["status_code"] == 200 and entry["error"] is None and entry["signed"]
        uuid.UUID(entry["delivery_id"])
    assert conversation["id"] == 5000


def test_a_webhook_added_after_start_is_seeded_and_survives_reset(sb: Sandbox) -> None:
    late = WebhookSetup(9, f"{sb.receiver.url}/late", ("message_created",), "late-secret")
    sb.double.add_webhook(ACCOUNT, late)
    with pytest.raises(ValueError, match="appears twice"):
        sb.double.add_webhook(ACCOUNT, late)
    sb.double.reset()
    assert 9 in [h["id"] for h in ok(sb.client.get("/webhooks"))["payload"]["webhooks"]]
    conversation = new_conversation(sb)
    post_message(sb, conversation["id"], "oi", message_type="incoming")
    (got,) = sb.receiver.wait_for("/late", 1)
    timestamp = got.headers["x-chatwoot-timestamp"]
    assert got.headers["x-chatwoot-signature"] == expected_signature("late-secret", timestamp, got.body)


def test_reset_returns_to_the_setup(sb: Sandbox) -> None:
    new_conversation(sb)
    hook = {"url": f"{sb.receiver.url}/x", "subscriptions": ["message_created"]}
    ok(sb.client.post("/webhooks", json=hook))
    sb.double.wait_idle(10)
    assert sb.deliveries()
    inbox_before = ok(sb.client.get(f"/inboxes/{API}"))
    sb.double.reset()
    assert ok(sb.client.get(f"/inboxes/{API}")) == inbox_before  # same ids, tokens and secret
    assert sb.deliveries() == []
    assert [h["id"] for h in ok(sb.client.get("/webhooks"))["payload"]["webhooks"]] == [1, 2, 3, 4]
    assert new_conversation(sb)["id"] == 5000


def test_message_ids_keep_growing_across_a_reset(sb: Sandbox) -> None:
    conversation = new_conversation(sb)["id"]
    before = ok(sb.client.post(f"/conversations/{conversation}/messages", json={"content": "a"}))["id"]
    sb.double.reset()
    conversation = new_conversation(sb)["id"]
    after = ok(sb.client.post(f"/conversations/{conversation}/messages", json={"content": "b"}))["id"]
    assert after > before  # n8n keeps its executions across a reset, found by message id


# --- builds, bots, files, auto-assignment, hostile params -------------------------------------


def test_a_build_before_4_11_2_signs_nothing_and_sends_no_delivery_id(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(version="4.10.0")
    conversation = new_conversation(sb, message={"content": "Oi", "message_type": "incoming"})

    for record in sb.receiver.wait_for("/crm", 2):
        assert not {"x-chatwoot-signature", "x-chatwoot-timestamp", "x-chatwoot-delivery"} & set(
            record.headers
        )
    created = for_conversation(sb.receiver.at("/crm", "conversation_created"), conversation["id"])
    assert "account" not in created[0].json  # and no top-level account either (older builds)
    assert created[0].json["messages"][0]["account_id"] == ACCOUNT
    with sb.raw() as client:
        assert client.get("/api").json()["version"] == "4.10.0"


def test_from_4_11_2_account_webhooks_sign_but_api_inboxes_only_from_4_13(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(version="4.12.0")
    new_conversation(sb, message={"content": "Oi", "message_type": "incoming"})

    account_hook = sb.receiver.wait_for("/crm", 1, "conversation_created")[0]
    api_inbox = sb.receiver.wait_for("/api-inbox", 1, "conversation_created")[0]
    assert account_hook.headers["x-chatwoot-signature"].startswith("sha256=")
    assert "x-chatwoot-signature" not in api_inbox.headers
    assert "account" not in account_hook.json  # 4.15-based builds add it


def test_a_message_sent_with_the_bot_token_comes_from_the_agent_bot(sb: Sandbox) -> None:
    conversation = new_conversation(sb, message={"content": "Oi", "message_type": "incoming"})
    with httpx.Client(
        base_url=f"{sb.url}/api/v1/accounts/{ACCOUNT}", headers={"api_access_token": BOT_TOKEN}
    ) as bot:
        ok(bot.post(f"/conversations/{conversation['id']}/messages", json={"content": "Olá! Sou o bot."}))

    created = sb.receiver.wait_for("/crm", 2, "message_created")
    reply = next(r.json for r in created if r.json["content"] == "Olá! Sou o bot.")
    assert reply["message_type"] == "outgoing"
    assert reply["sender"] == {"id": 1, "name": "Sandbox Bot", "type": "agent_bot"}
    embedded = reply["conversation"]["messages"][0]
    assert embedded["sender_type"] == "AgentBot"
    assert embedded["sender"]["type"] == "agent_bot"


def test_a_message_with_files_carries_their_push_data(sb: Sandbox) -> None:
    conversation = new_conversation(sb, message={"content": "Oi", "message_type": "incoming"})
    files = [
        {"file_type": "image", "file_name": "prato.jpg", "file_size": 48213, "width": 1080, "height": 1350},
        {"file_type": "audio", "file_name": "audio.ogg", "file_size": 18230},
    ]
    ok(
        sb.client.post(
            f"/conversations/{conversation['id']}/messages",
            json={"attachments": files, "message_type": "incoming"},
        )
    )

    message = next(
        r.json for r in sb.receiver.wait_for("/crm", 2, "message_created") if r.json.get("attachments")
    )
    image, audio = message["attachments"]
    assert message["content"] is None
    assert image["file_type"] == "image" and (image["width"], image["height"]) == (1080, 1350)
    assert (
        image["extension"] == "jpg"
        and image["message_id"] == message["id"]
        and image["account_id"] == ACCOUNT
    )
    assert audio["file_type"] == "audio" and "width" not in audio
    assert message["conversation"]["messages"][0]["attachments"] == message["attachments"]


def test_a_bad_attachment_is_refused_with_422(sb: Sandbox) -> None:
    conversation = new_conversation(sb, message={"content": "Oi", "message_type": "incoming"})

    answer = sb.client.post(
        f"/conversations/{conversation['id']}/messages", json={"attachments": [{"file_type": "hologram"}]}
    )

    assert answer.status_code == 422


def test_an_auto_assigning_inbox_announces_the_conversation_already_assigned(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(auto_assign=True)
    conversation = new_conversation(sb, message={"content": "Oi", "message_type": "incoming"})

    created = for_conversation(sb.receiver.wait_for("/crm", 1, "conversation_created"), conversation["id"])
    meta = created[0].json["meta"]
    assert meta["assignee"]["id"] == 1 and meta["assignee"]["type"] == "user"
    assert meta["assignee_type"] == "User"


@pytest.mark.parametrize("page", ["²", "%C2%B2", "1e9", "-3", "99999999999999999999999"])
def test_a_page_that_is_not_a_number_is_the_first_page(sb: Sandbox, page: str) -> None:
    answer = sb.client.get(f"/conversations?page={page}")

    assert answer.status_code == 200, answer.text


def test_a_double_playing_out_of_order_jobs_delivers_the_message_before_its_conversation(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(message_first=True)
    conversation = new_conversation(sb, message={"content": "Oi", "message_type": "incoming"})

    records = for_conversation(sb.receiver.wait_for("/crm", 3), conversation["id"])
    assert [r.event for r in records][:2] == ["message_created", "conversation_created"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"name":' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"name":"\\ud800","inbox_id":30}',
        b'{"name":"Ana","custom_attributes":{"x":NaN},"inbox_id":30}',
    ],
    ids=["nested 50,000 deep", "lone surrogate", "NaN"],
)
def test_a_hostile_body_is_a_400_never_a_500(sb: Sandbox, body: bytes) -> None:
    answer = sb.client.post("/contacts", content=body, headers={"Content-Type": "application/json"})

    assert answer.status_code == 400, answer.text


# --- automation rules --------------------------------------------------------------------------


def test_an_automation_rule_posts_the_conversation_for_incoming_messages_unsigned(sb: Sandbox) -> None:
    url = f"{sb.receiver.url}/automation"
    sb.double.add_automation_rule(ACCOUNT, AutomationRuleSetup(9, url, inbox_ids=(API,)))
    conversation = new_conversation(sb)
    incoming = post_message(sb, conversation["id"], "Quero um orçamento", message_type="incoming")
    post_message(sb, conversation["id"], "Claro!", message_type="outgoing")  # not for the rule
    other = new_conversation(sb, API_UNSIGNED)
    post_message(sb, other["id"], "De outra caixa", message_type="incoming")  # another inbox

    [sent] = sb.receiver.wait_for("/automation", 1, "automation_event.message_created")
    body = sent.json
    assert body["event"] == "automation_event.message_created"
    assert body["id"] == conversation["id"] and body["inbox_id"] == API  # the conversation at the top
    assert body["messages"][0]["id"] == incoming["id"] and body["messages"][0]["message_type"] == 0
    assert "conversation" not in body and "contact_inbox" in body and body["meta"]["sender"]
    assert "x-chatwoot-signature" not in sent.headers and "x-chatwoot-timestamp" not in sent.headers
    sb.double.wait_idle(10)
    assert len(sb.receiver.at("/automation")) == 1
    [rule] = ok(sb.client.get("/automation_rules"))["payload"]
    assert (rule["id"], rule["event_name"], rule["active"]) == (9, "message_created", True)
    assert rule["actions"] == [{"action_name": "send_webhook_event", "action_params": [url]}]
    assert {c["attribute_key"] for c in rule["conditions"]} == {"message_type", "inbox_id"}
