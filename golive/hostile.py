"""Hostile and malformed input: deliveries a real Chatwoot would never send, built on purpose."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from golive.clients.webhook import Signing, WebhookAnswer, WebhookEmitter
from golive.conversations import Conversations, Sent
from golive.data import DataFactory, Person
from golive.payloads import chatwoot

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


def _conversation_payload(conversations: Conversations, data: DataFactory) -> tuple[int, dict[str, Any]]:
    person = data.instagram_person()
    conv = conversations.conversation("instagram", person)
    message = chatwoot.Message(id=data.chatwoot_id(), content="oi", created_at=conv.created_at)
    return conv.display_id, chatwoot.conversation_created(conv, message)


def _message_payload(conversations: Conversations, data: DataFactory) -> tuple[int, dict[str, Any]]:
    person = data.instagram_person()
    conv = conversations.conversation("instagram", person)
    message = chatwoot.Message(id=data.chatwoot_id(), content="oi", created_at=conv.created_at)
    return conv.display_id, chatwoot.message_created(conv, message)


def _mutate(
    build: Callable[[Conversations, DataFactory], tuple[int, dict[str, Any]]],
    change: Callable[[dict[str, Any]], Any],
) -> Callable[[Conversations, DataFactory], tuple[int, bytes]]:
    def make(conversations: Conversations, data: DataFactory) -> tuple[int, bytes]:
        conversation_id, payload = build(conversations, data)
        changed = change(payload)
        return conversation_id, chatwoot.encode(payload) if changed is None else changed

    return make


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(payload: dict[str, Any]) -> None:
        target = payload
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


MALFORMED: dict[str, Callable[[Conversations, DataFactory], tuple[int, bytes]]] = {
    "a body that is not JSON": _mutate(
        _conversation_payload, lambda p: chatwoot.encode(p)[:-20] + b"<<not json"
    ),
    "a JSON array instead of an object": _mutate(_conversation_payload, lambda p: json.dumps([p]).encode()),
    "no event name": _mutate(_conversation_payload, lambda p: p.pop("event") and None),
    "a conversation id that is not a number": _mutate(_conversation_payload, _set(("id",), "abc")),
    "a sender that is not an object": _mutate(_conversation_payload, _set(("meta", "sender"), "Ana Beatriz")),
    "labels that are not a list": _mutate(_conversation_payload, _set(("labels",), "vip")),
    "a message type the CRM does not know": _mutate(_message_payload, _set(("message_type",), "telepathy")),
    "an oversized body": _mutate(
        _conversation_payload, lambda p: chatwoot.encode({**p, "padding": "x" * OVERSIZED_BYTES})
    ),
}


def send_malformed(
    defect: str, conversations: Conversations, webhook: WebhookEmitter, data: DataFactory
) -> Malformed:
    try:
        build = MALFORMED[defect]
    except KeyError:
        raise ValueError(f"unknown defect {defect!r}; known: {', '.join(MALFORMED)}") from None
    conversation_id, body = build(conversations, data)
    return Malformed(defect, conversation_id, webhook.send_raw(body))


def send_unhandled_event(
    conversations: Conversations, webhook: WebhookEmitter, data: DataFactory
) -> Malformed:
    conversation_id, payload = _message_payload(conversations, data)
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
