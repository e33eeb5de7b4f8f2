"""Hostile and malformed input: deliveries a real Chatwoot would never send, built on purpose."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from golive.clients.webhook import Signing, WebhookAnswer, WebhookEmitter
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
}


def send_malformed(
    defect: str, conversations: Conversations, webhook: WebhookEmitter, data: DataFactory
) -> Malformed:
    try:
        event, corrupt = MALFORMED[defect]
    except KeyError:
        raise ValueError(f"unknown defect {defect!r}; known: {', '.join(MALFORMED)}") from None
    conversation_id, payload = _payload(event, conversations, data)
    return Malformed(defect, conversation_id, webhook.send_raw(corrupt(payload)))


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
