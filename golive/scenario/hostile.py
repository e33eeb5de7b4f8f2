"""Hostile and malformed input: deliveries a real Chatwoot would never send, built on purpose."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from golive.clients.crm import Answer, CrmClient
from golive.clients.webhook import Signing, WebhookAnswer, WebhookEmitter
from golive.organisation import Organisation
from golive.payloads import chatwoot
from golive.scenario.data import DataFactory, Person
from golive.scenario.injection import Conversations, Sent

OVERSIZED_BYTES = 2_000_000

SIGNINGS = {
    "without a signature": Signing.NONE,
    "signed with the wrong secret": Signing.WRONG,
    "with a timestamp outside the five-minute window": Signing.STALE,
    "signed and then modified in transit": Signing.TAMPERED,
}


@dataclass(frozen=True)
class Malformed:
    defect: str
    conversation_id: int
    answer: WebhookAnswer


def _payload(event: str, conversations: Conversations, data: DataFactory) -> tuple[int, dict[str, Any]]:
    """A genuine first Instagram DM event, to be broken on purpose."""
    conv = conversations.conversation("instagram", data.instagram_person())
    message = chatwoot.Message(id=data.chatwoot_id(), content="oi", created_at=conv.created_at)
    build = chatwoot.message_created if event == "message_created" else chatwoot.conversation_created
    return conv.display_id, build(conv, message)


Corrupt = Callable[[dict[str, Any]], bytes]


def _with(path: tuple[str, ...], value: Any) -> Corrupt:
    def corrupt(payload: dict[str, Any]) -> bytes:
        target = payload
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return chatwoot.encode(payload)

    return corrupt


def _without(key: str) -> Corrupt:
    return lambda payload: chatwoot.encode({k: v for k, v in payload.items() if k != key})


_SURROGATE_MARK = "golive-lone-surrogate"


def _lone_surrogate(payload: dict[str, Any]) -> bytes:
    """`content` holding a lone surrogate (U+D800), written as the JSON escape JSON allows."""
    payload["content"] = _SURROGATE_MARK
    return chatwoot.encode(payload).replace(_SURROGATE_MARK.encode(), b"\\ud800")


def _nested(depth: int) -> Corrupt:
    """The genuine event with one more key holding arrays nested `depth` levels deep."""

    def corrupt(payload: dict[str, Any]) -> bytes:
        body = chatwoot.encode(payload)
        return body[:-1] + b',"extra":' + b"[" * depth + b"]" * depth + b"}"

    return corrupt


def _form_encoded(payload: dict[str, Any]) -> bytes:
    return urlencode({"event": payload["event"], "id": payload["id"]}).encode()


# defect (as the feature names it) -> (the event it starts from, how it is broken)
MALFORMED: dict[str, tuple[str, Corrupt]] = {
    "a body that is not JSON": ("conversation_created", lambda p: chatwoot.encode(p)[:-20] + b"<<not json"),
    "a JSON array instead of an object": ("conversation_created", lambda p: json.dumps([p]).encode()),
    "no event name": ("conversation_created", _without("event")),
    "a conversation id that is not a number": ("conversation_created", _with(("id",), "abc")),
    "a sender that is not an object": ("conversation_created", _with(("meta", "sender"), "Ana")),
    "labels that are not a list": ("conversation_created", _with(("labels",), "vip")),
    "a message type the CRM does not know": ("message_created", _with(("message_type",), "telepathy")),
    "an oversized body": (
        "conversation_created",
        lambda p: chatwoot.encode({**p, "padding": "x" * OVERSIZED_BYTES}),
    ),
    "a NUL byte in the sender's name": (
        "conversation_created",
        _with(("meta", "sender", "name"), "Ana\x00Bea"),
    ),
    "a lone surrogate in the message text": ("message_created", _lone_surrogate),
    "JSON nested 50,000 levels deep": ("conversation_created", _nested(50_000)),
    "a conversation id beyond 64 bits": ("conversation_created", _with(("id",), 2**70)),
    "a conversation id in superscript digits": ("conversation_created", _with(("id",), "²³")),
    "a message time that is not a date": ("message_created", _with(("created_at",), "2024-13-45T99:99:99Z")),
    "a form-encoded body instead of JSON": ("conversation_created", _form_encoded),
}
# The content type each defect is sent with (default: application/json).
CONTENT_TYPES = {"a form-encoded body instead of JSON": "application/x-www-form-urlencoded"}


def send_malformed(
    defect: str, conversations: Conversations, webhook: WebhookEmitter, data: DataFactory
) -> Malformed:
    try:
        event, corrupt = MALFORMED[defect]
    except KeyError:
        raise ValueError(f"unknown defect {defect!r}; known: {', '.join(MALFORMED)}") from None
    conversation_id, payload = _payload(event, conversations, data)
    answer = webhook.send_raw(corrupt(payload), content_type=CONTENT_TYPES.get(defect), event=event)
    return Malformed(defect, conversation_id, answer)


def send_unhandled_event(
    conversations: Conversations, webhook: WebhookEmitter, data: DataFactory
) -> Malformed:
    conversation_id, payload = _payload("message_created", conversations, data)
    payload["event"] = "conversation_typing_on"
    return Malformed("unhandled event", conversation_id, webhook.send_raw(chatwoot.encode(payload)))


def send_contact_created(
    conversations: Conversations, webhook: WebhookEmitter, data: DataFactory
) -> WebhookAnswer:
    person = data.whatsapp_person()
    contact = chatwoot.Contact(id=data.chatwoot_id(), name=person.name, phone_number=person.phone)
    org = conversations.org
    return webhook.deliver(chatwoot.contact_created(org.account_id, org.name, contact))


def first_dm_signed(conversations: Conversations, person: Person, how: str) -> Sent:
    try:
        signing = SIGNINGS[how]
    except KeyError:
        raise ValueError(f"unknown signing defect {how!r}; known: {', '.join(SIGNINGS)}") from None
    return conversations.first_message("instagram", person, "Oi!", signing=signing)


# --- the public API --------------------------------------------------------------------------------

FIVE_MB = 5 * 1024 * 1024


@dataclass(frozen=True)
class Probe:
    method: str
    url: str
    body: bytes | None = None
    content_type: str | None = "application/json"


def _contact_body(data: DataFactory, name: str) -> bytes:
    return json.dumps({"name": name, "phone": data.br_mobile()}).encode()


def _probe(probe: str, crm: CrmClient, data: DataFactory, org: Organisation) -> Probe:
    contacts = "/api/public/v1/contacts"
    if probe == "a NUL byte in a new contact's name":
        return Probe("POST", contacts, _contact_body(data, "Ana\x00Bea"))
    if probe == "a lone surrogate in a new contact's name":
        body = _contact_body(data, _SURROGATE_MARK).replace(_SURROGATE_MARK.encode(), b"\\ud800")
        return Probe("POST", contacts, body)
    if probe == "a NUL byte in a search":
        return Probe("GET", f"{contacts}?q=Ana%00Bea")
    if probe == "a lone surrogate in a search":
        return Probe("GET", f"{contacts}?q=%ED%A0%80")
    if probe == "JSON nested 50,000 levels deep":
        return Probe("POST", contacts, b'{"name":' + b"[" * 50_000 + b"]" * 50_000 + b"}")
    if probe == "a 5 MB body":
        return Probe("POST", contacts, _contact_body(data, "x" * FIVE_MB))
    if probe == "a 20,000-character name":
        return Probe("POST", contacts, _contact_body(data, "Ana " * 5_000))
    if probe == "a form-encoded body":
        body = urlencode({"name": data.name(), "phone": data.br_mobile()}).encode()
        return Probe("POST", contacts, body, "application/x-www-form-urlencoded")
    if probe == "a stage id that is not a uuid":
        contact = crm.upsert_contact(name=data.name(), phone=data.br_mobile())
        deal = {"title": "golive", "board_key": org.board_key, "contact_id": contact.id, "stage_id": "abc"}
        return Probe("POST", "/api/public/v1/deals", json.dumps(deal).encode())
    if probe == "a deal id beyond 64 bits":
        return Probe("GET", f"/api/public/v1/deals/{2**70}")
    if probe == "a NUL byte in a board key":
        return Probe("GET", "/api/public/v1/boards/venda%00s/stages")
    raise ValueError(f"unknown API probe {probe!r}")


@dataclass(frozen=True)
class ApiProbe:
    probe: str
    answer: Answer


def call_api_with(probe: str, crm: CrmClient, data: DataFactory, org: Organisation) -> ApiProbe:
    request = _probe(probe, crm, data, org)
    content_type = request.content_type if request.body is not None else None
    return ApiProbe(
        probe, crm.raw(request.method, request.url, content=request.body, content_type=content_type)
    )


def api_refused(call: ApiProbe) -> None:
    answer = call.answer
    if answer.status >= 500:
        raise AssertionError(
            f"the public API answered {call.probe} with a server error: {answer.describe()} "
            "(hostile input must get a 4xx, never a 5xx)"
        )
    if not 400 <= answer.status < 500:
        raise AssertionError(f"the public API accepted {call.probe}: {answer.describe()}; expected a 4xx")
