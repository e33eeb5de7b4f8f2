"""Chatwoot payload builders and signing against the wire format (chatwoot-wire-format.md).

The expectations are written out here (key sets, types, the §6 example values) so that the
tests need nothing outside the repository.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from golive.clients.webhook import WebhookEmitter
from golive.payloads.chatwoot import (
    Contact,
    Conversation,
    Message,
    contact_created,
    conversation_created,
    conversation_object,
    conversation_updated,
    delivery_headers,
    encode,
    message_created,
    signature,
)
from golive.scenario.data import DataFactory, Person
from golive.scenario.injection import Conversations

# --- the wire format, written out (§4) ------------------------------------------------------

# §4.1: conversation events carry the conversation at the top level (no `inbox`, no wrapper)
CONVERSATION_EVENT_KEYS = {
    "event", "id", "inbox_id", "channel", "account", "status", "can_reply", "priority",
    "labels", "unread_count", "snoozed_until", "first_reply_created_at", "waiting_since",
    "additional_attributes", "custom_attributes", "contact_inbox", "meta", "messages",
    "agent_last_seen_at", "contact_last_seen_at", "last_activity_at", "timestamp",
    "created_at", "updated_at",
}  # fmt: skip
CONTACT_INBOX_KEYS = {
    "id", "contact_id", "inbox_id", "source_id", "created_at", "updated_at",
    "hmac_verified", "pubsub_token",
}  # fmt: skip
META_KEYS = {"sender", "assignee", "assignee_type", "team", "hmac_verified"}
META_SENDER_KEYS = {
    "additional_attributes", "custom_attributes", "email", "id", "identifier", "name",
    "phone_number", "thumbnail", "blocked", "type",
}  # fmt: skip
# §4.3 / §6.1: a message inside a conversation's messages[]
EMBEDDED_MESSAGE_KEYS = {
    "id", "content", "account_id", "inbox_id", "conversation_id", "message_type", "created_at",
    "updated_at", "private", "status", "source_id", "content_type", "content_attributes",
    "sender_type", "sender_id", "external_source_ids", "additional_attributes",
    "processed_message_content", "sentiment", "conversation", "sender",
}  # fmt: skip
# §4.2: message events carry the message at the top level
MESSAGE_EVENT_KEYS = {
    "event", "id", "content", "content_type", "content_attributes", "additional_attributes",
    "message_type", "private", "source_id", "created_at", "account", "inbox", "sender",
    "conversation",
}  # fmt: skip
MESSAGE_SENDER_KEYS = {
    "account", "additional_attributes", "avatar", "custom_attributes", "email", "id",
    "identifier", "name", "phone_number", "thumbnail", "blocked",
}  # fmt: skip
# §6.4
CONTACT_EVENT_KEYS = {
    "event", "id", "name", "email", "phone_number", "identifier", "thumbnail", "avatar",
    "blocked", "additional_attributes", "custom_attributes", "account",
}  # fmt: skip

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")

# --- the §6 examples: account 7 "Coronel Staging", IG inbox 31, WA inbox 30 ----------------

IGSID = "1789456123000456"
ANA = Contact(id=5120, name="Ana Beatriz", instagram_username="ana.bea.teste")
IG_CONVERSATION = Conversation(
    account_id=7,
    account_name="Coronel Staging",
    inbox_id=31,
    inbox_name="Instagram Coronel",
    channel="Channel::Instagram",
    display_id=418,
    contact=ANA,
    contact_inbox_id=8810,
    source_id=IGSID,
    created_at=1781092800,
    pubsub_token="pT9xQ2mZr7Lw1sV5bNc8dYe4",
)
IG_FIRST = Message(
    id=99231,
    content="Oi! Vocês abrem no domingo?",
    created_at=1781092800,
    source_id="aWdfZAG1faXRlbTpGQUtFX01JRF8wMDE",
)
IG_SECOND = Message(
    id=99232,
    content="E aceitam reserva para 6 pessoas?",
    created_at=1781092805.418,
    source_id="aWdfZAG1faXRlbTpGQUtFX01JRF8wMDI",
)
CARLOS = Contact(id=5121, name="Carlos Souza", phone_number="+5511987654321")
WA_CONVERSATION = Conversation(
    account_id=7,
    account_name="Coronel Staging",
    inbox_id=30,
    inbox_name="WhatsApp Coronel",
    channel="Channel::Whatsapp",
    display_id=419,
    contact=CARLOS,
    contact_inbox_id=8811,
    source_id="5511987654321",
    created_at=1781092980,
)
WA_FIRST = Message(
    id=99240,
    content="Boa tarde, quero fazer um pedido",
    created_at=1781092980,
    source_id="wamid.FAKE0000000000000000000001",
)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def paths_holding(value: Any, tree: Any, path: str = "") -> set[str]:
    """Every path in `tree` whose leaf equals `value`."""
    found: set[str] = set()
    if isinstance(tree, dict):
        for key, child in tree.items():
            found |= paths_holding(value, child, f"{path}.{key}" if path else key)
    elif isinstance(tree, list):
        for index, child in enumerate(tree):
            found |= paths_holding(value, child, f"{path}[{index}]")
    elif tree == value:
        found.add(path)
    return found


# --- conversation events (§4.1, §6.1, §6.3) ---------------------------------------------------


def test_conversation_created_has_the_conversation_at_the_top_level() -> None:
    payload = conversation_created(IG_CONVERSATION, IG_FIRST)

    assert set(payload) == CONVERSATION_EVENT_KEYS
    assert payload["event"] == "conversation_created"
    assert payload["id"] == 418
    assert payload["inbox_id"] == 31
    assert payload["channel"] == "Channel::Instagram"
    assert payload["account"] == {"id": 7, "name": "Coronel Staging"}
    assert "inbox" not in payload
    assert "conversation" not in payload
    assert payload["status"] == "open"
    assert payload["labels"] == []
    assert payload["unread_count"] == 1
    assert payload["can_reply"] is True
    assert payload["priority"] is None


def test_conversation_contact_inbox_is_the_full_record() -> None:
    contact_inbox = conversation_created(IG_CONVERSATION, IG_FIRST)["contact_inbox"]

    assert set(contact_inbox) == CONTACT_INBOX_KEYS
    assert contact_inbox["id"] == 8810
    assert contact_inbox["contact_id"] == 5120
    assert contact_inbox["inbox_id"] == 31
    assert contact_inbox["source_id"] == IGSID
    assert contact_inbox["pubsub_token"] == "pT9xQ2mZr7Lw1sV5bNc8dYe4"
    assert contact_inbox["hmac_verified"] is False
    assert ISO_MS.match(contact_inbox["created_at"])
    assert contact_inbox["created_at"].startswith("2026-06-10T12:00:00.")
    assert ISO_MS.match(contact_inbox["updated_at"])


def test_conversation_meta_sender_is_the_contact_with_type_contact() -> None:
    meta = conversation_created(IG_CONVERSATION, IG_FIRST)["meta"]

    assert set(meta) == META_KEYS
    assert set(meta["sender"]) == META_SENDER_KEYS
    assert meta["sender"]["type"] == "contact"
    assert meta["sender"]["id"] == 5120
    assert meta["sender"]["name"] == "Ana Beatriz"
    assert meta["assignee"] is None


def test_conversation_messages_hold_the_first_message_with_int_type_and_epoch_time() -> None:
    messages = conversation_created(IG_CONVERSATION, IG_FIRST)["messages"]

    assert len(messages) == 1
    embedded = messages[0]
    assert set(embedded) == EMBEDDED_MESSAGE_KEYS
    assert embedded["id"] == 99231
    assert embedded["content"] == "Oi! Vocês abrem no domingo?"
    assert embedded["message_type"] == 0 and is_int(embedded["message_type"])
    assert embedded["created_at"] == 1781092800 and is_int(embedded["created_at"])
    assert ISO_MS.match(embedded["updated_at"])
    assert embedded["conversation_id"] == 418
    assert embedded["account_id"] == 7
    assert embedded["inbox_id"] == 31
    assert embedded["source_id"] == "aWdfZAG1faXRlbTpGQUtFX01JRF8wMDE"
    assert embedded["sender_type"] == "Contact"
    assert embedded["sender_id"] == 5120
    assert embedded["sender"]["type"] == "contact"
    assert embedded["conversation"]["contact_inbox"] == {"source_id": IGSID}


def test_a_conversation_without_a_message_has_empty_messages() -> None:
    payload = conversation_created(IG_CONVERSATION, None)

    assert payload["messages"] == []
    assert payload["last_activity_at"] == 1781092800


@pytest.mark.parametrize(("message_type", "number"), [("incoming", 0), ("outgoing", 1), ("template", 3)])
def test_embedded_message_types_are_chatwoot_integers(message_type: Any, number: int) -> None:
    message = Message(id=1, content="x", created_at=1781092800, message_type=message_type)

    embedded = conversation_created(IG_CONVERSATION, message)["messages"][0]

    assert embedded["message_type"] == number


def test_conversation_timestamps_are_epoch_ints_and_updated_at_a_float() -> None:
    payload = conversation_created(IG_CONVERSATION, IG_FIRST)

    for key in (
        "agent_last_seen_at",
        "contact_last_seen_at",
        "last_activity_at",
        "timestamp",
        "created_at",
        "waiting_since",
    ):
        assert is_int(payload[key]), f"{key} must be an epoch int, got {payload[key]!r}"
    assert payload["agent_last_seen_at"] == 0
    assert payload["contact_last_seen_at"] == 0
    assert payload["created_at"] == 1781092800
    assert payload["last_activity_at"] == 1781092800
    assert isinstance(payload["updated_at"], float)
    assert payload["updated_at"] == pytest.approx(1781092800.318)


def test_the_last_activity_follows_the_newest_message() -> None:
    payload = conversation_object(IG_CONVERSATION, IG_SECOND)

    assert payload["last_activity_at"] == 1781092805
    assert payload["timestamp"] == 1781092805
    assert payload["created_at"] == 1781092800  # the conversation's, not the message's
    assert payload["updated_at"] >= 1781092805


def test_older_builds_send_no_account_in_conversation_payloads() -> None:
    old = Conversation(**{**IG_CONVERSATION.__dict__, "with_account": False})

    payload = conversation_created(old, IG_FIRST)

    assert "account" not in payload
    assert set(payload) == CONVERSATION_EVENT_KEYS - {"account"}
    assert payload["messages"][0]["account_id"] == 7


def test_whatsapp_conversation_created_matches_the_example() -> None:
    payload = conversation_created(WA_CONVERSATION, WA_FIRST)

    assert set(payload) == CONVERSATION_EVENT_KEYS
    assert payload["channel"] == "Channel::Whatsapp"
    assert payload["inbox_id"] == 30
    assert payload["contact_inbox"]["source_id"] == "5511987654321"
    assert payload["meta"]["sender"]["phone_number"] == "+5511987654321"
    assert payload["messages"][0]["source_id"] == "wamid.FAKE0000000000000000000001"
    assert payload["messages"][0]["conversation"]["contact_inbox"] == {"source_id": "5511987654321"}


def test_conversation_updated_lists_the_changed_attributes() -> None:
    resolved = Conversation(**{**IG_CONVERSATION.__dict__, "status": "resolved"})

    payload = conversation_updated(
        resolved, {"status": ("open", "resolved")}, event="conversation_status_changed"
    )

    assert payload["event"] == "conversation_status_changed"
    assert payload["status"] == "resolved"
    assert payload["changed_attributes"] == [
        {"status": {"previous_value": "open", "current_value": "resolved"}}
    ]
    assert set(payload) == CONVERSATION_EVENT_KEYS | {"changed_attributes"}
    assert "inbox" not in payload


def test_conversation_updated_carries_new_labels() -> None:
    labelled = replace(IG_CONVERSATION, labels=("atendimento-humano",))

    payload = conversation_updated(labelled, {"labels": ([], ["atendimento-humano"])})

    assert payload["event"] == "conversation_updated"
    assert payload["labels"] == ["atendimento-humano"]
    assert payload["changed_attributes"] == [
        {"labels": {"previous_value": [], "current_value": ["atendimento-humano"]}}
    ]


# --- message events (§4.2, §6.2) --------------------------------------------------------------


def test_message_created_has_the_message_at_the_top_level() -> None:
    payload = message_created(IG_CONVERSATION, IG_SECOND)

    assert set(payload) == MESSAGE_EVENT_KEYS
    assert payload["event"] == "message_created"
    assert payload["id"] == 99232
    assert payload["content"] == "E aceitam reserva para 6 pessoas?"
    assert payload["content_type"] == "text"
    assert payload["message_type"] == "incoming"
    assert payload["private"] is False
    assert payload["source_id"] == "aWdfZAG1faXRlbTpGQUtFX01JRF8wMDI"
    assert payload["account"] == {"id": 7, "name": "Coronel Staging"}


def test_message_created_time_is_iso_with_milliseconds() -> None:
    payload = message_created(IG_CONVERSATION, IG_SECOND)

    assert payload["created_at"] == "2026-06-10T12:00:05.418Z"


@pytest.mark.parametrize(
    ("epoch", "iso"),
    [
        (1781092800, "2026-06-10T12:00:00.000Z"),
        (1781092800.201, "2026-06-10T12:00:00.201Z"),
        (1781092805.999, "2026-06-10T12:00:05.999Z"),
        (1781092805.05, "2026-06-10T12:00:05.050Z"),
    ],
)
def test_message_times_keep_their_milliseconds(epoch: float, iso: str) -> None:
    message = Message(id=1, content="x", created_at=epoch)

    assert message_created(IG_CONVERSATION, message)["created_at"] == iso


def test_message_created_inbox_has_only_id_and_name() -> None:
    payload = message_created(IG_CONVERSATION, IG_SECOND)

    assert payload["inbox"] == {"id": 31, "name": "Instagram Coronel"}
    # the channel type lives only in the nested conversation
    assert paths_holding("Channel::Instagram", payload) == {"conversation.channel"}


def test_message_created_sender_is_a_contact_without_type() -> None:
    sender = message_created(IG_CONVERSATION, IG_SECOND)["sender"]

    assert set(sender) == MESSAGE_SENDER_KEYS
    assert "type" not in sender
    assert sender["account"] == {"id": 7, "name": "Coronel Staging"}
    assert sender["id"] == 5120
    assert sender["name"] == "Ana Beatriz"
    assert sender["avatar"] == ""


def test_message_created_nests_the_full_conversation_without_event() -> None:
    payload = message_created(IG_CONVERSATION, IG_SECOND)
    conversation = payload["conversation"]

    assert set(conversation) == CONVERSATION_EVENT_KEYS - {"event"}
    assert conversation["id"] == 418
    assert conversation["channel"] == "Channel::Instagram"
    assert conversation["contact_inbox"]["source_id"] == IGSID
    assert conversation["meta"]["sender"]["type"] == "contact"
    embedded = conversation["messages"][0]
    assert embedded["id"] == 99232
    assert embedded["message_type"] == 0  # the same message, int type inside the conversation
    assert embedded["created_at"] == 1781092805 and is_int(embedded["created_at"])
    assert conversation["last_activity_at"] == 1781092805


def test_message_created_outgoing_keeps_its_string_type() -> None:
    reply = Message(id=5, content="Sim!", created_at=1781092810, message_type="outgoing")

    payload = message_created(IG_CONVERSATION, reply)

    assert payload["message_type"] == "outgoing"
    assert payload["conversation"]["messages"][0]["message_type"] == 1


# --- Instagram contacts have only a name (§5) --------------------------------------------------


def test_an_instagram_contact_has_only_a_name_and_the_igsid_only_in_contact_inbox() -> None:
    payload = conversation_created(IG_CONVERSATION, IG_FIRST)
    sender = payload["meta"]["sender"]

    assert sender["identifier"] is None
    assert sender["phone_number"] is None
    assert sender["email"] is None
    assert sender["additional_attributes"]["social_instagram_user_name"] == "ana.bea.teste"
    assert paths_holding(IGSID, payload) == {
        "contact_inbox.source_id",
        "messages[0].conversation.contact_inbox.source_id",
    }


def test_in_message_created_the_igsid_is_only_in_the_conversations_contact_inbox() -> None:
    payload = message_created(IG_CONVERSATION, IG_SECOND)

    assert payload["sender"]["identifier"] is None
    assert paths_holding(IGSID, payload) == {
        "conversation.contact_inbox.source_id",
        "conversation.messages[0].conversation.contact_inbox.source_id",
    }


@pytest.fixture
def conversations(make_org: Any) -> Conversations:
    org = make_org()
    unused = httpx.Client(base_url="https://crm.invalid")
    emitter = WebhookEmitter(http=unused, organisation=org.slug, path="/api/chatwoot/webhook", secret=None)
    return Conversations(organisation=org, crm_webhook=emitter, data=DataFactory("run1", seed=7))


def test_the_suite_shapes_an_instagram_customer_like_chatwoot(
    conversations: Conversations,
) -> None:
    person = Person(name="Ana Beatriz [golive run1]", igsid="17841400000000123", instagram_username="ana.bea")

    conv = conversations.conversation("instagram", person)
    payload = conversation_created(conv, None)

    assert payload["channel"] == "Channel::Instagram"
    assert payload["inbox_id"] == 31
    assert payload["account"]["id"] == 7
    assert payload["meta"]["sender"]["name"] == "Ana Beatriz [golive run1]"
    assert payload["meta"]["sender"]["identifier"] is None
    assert payload["meta"]["sender"]["phone_number"] is None
    assert paths_holding("17841400000000123", payload) == {"contact_inbox.source_id"}


def test_the_suite_shapes_a_whatsapp_customer_like_chatwoot(
    conversations: Conversations,
) -> None:
    person = Person(name="Carlos Souza [golive run1]", phone="+5511987654321")

    payload = conversation_created(conversations.conversation("whatsapp", person), None)

    assert payload["channel"] == "Channel::Whatsapp"
    assert payload["inbox_id"] == 30
    assert payload["contact_inbox"]["source_id"] == "5511987654321"  # the wa_id: no plus
    assert payload["meta"]["sender"]["phone_number"] == "+5511987654321"


def test_a_customer_without_a_usable_identifier_has_no_source_id(
    conversations: Conversations,
) -> None:
    person = Person(name="Sem Id", phone="+5511987654321", igsid="17841400000000123")

    for channel in ("whatsapp", "instagram"):
        conv = conversations.conversation(channel, person, usable_identifier=False)  # type: ignore[arg-type]
        payload = conversation_created(conv, None)
        assert payload["contact_inbox"]["source_id"] is None
        assert payload["meta"]["sender"]["phone_number"] is None


# --- contact events (§4.4) ---------------------------------------------------------------------


def test_contact_created_carries_no_inbox_and_no_channel() -> None:
    payload = contact_created(7, "Coronel Staging", CARLOS)

    assert set(payload) == CONTACT_EVENT_KEYS
    assert payload["event"] == "contact_created"
    assert payload["phone_number"] == "+5511987654321"
    assert payload["account"] == {"id": 7, "name": "Coronel Staging"}
    assert not any("Channel::" in str(v) for v in payload.values())


# --- bytes: encode ------------------------------------------------------------------------------


def test_encode_is_compact_json() -> None:
    body = encode({"event": "x", "id": 1, "labels": ["a", "b"], "meta": {"team": None}})

    assert body == b'{"event":"x","id":1,"labels":["a","b"],"meta":{"team":null}}'


def test_encode_escapes_html_characters_like_rails() -> None:
    body = encode({"content": "<b>Fish & chips</b>"})

    assert body == b'{"content":"\\u003cb\\u003eFish \\u0026 chips\\u003c/b\\u003e"}'
    assert b"<" not in body and b">" not in body and b"&" not in body


def test_encode_escapes_line_and_paragraph_separators() -> None:
    body = encode({"content": "a\u2028b\u2029c"})

    assert body == b'{"content":"a\\u2028b\\u2029c"}'


def test_encode_is_utf8_and_round_trips() -> None:
    payload = message_created(IG_CONVERSATION, IG_SECOND)
    payload["content"] = "Olá <João> & Maria — ação"

    body = encode(payload)

    assert isinstance(body, bytes)
    body.decode("utf-8")
    assert json.loads(body) == payload
    assert "Olá".encode() in body  # raw UTF-8, not \u escapes


def test_encode_keeps_key_order() -> None:
    body = encode(conversation_created(IG_CONVERSATION, IG_FIRST))

    assert body.startswith(b'{"event":"conversation_created","id":418,')


# --- signatures (§2) ----------------------------------------------------------------------------


def hmac_hex(secret: str, timestamp: int | str, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def test_signature_matches_a_known_vector() -> None:
    body = b'{"event":"conversation_created","id":418}'

    # computed independently: printf '%s' '1781092800.<body>' | openssl dgst -sha256 -hmac …
    assert signature("whsec-canary-0123456789", 1781092800, body) == (
        "sha256=de1b3526b83b6d170aed3f15586b3c1a3544e697b8ab72e5c8fcf00ff55e01a5"
    )


def test_signature_is_lowercase_hex_hmac_of_timestamp_dot_body() -> None:
    body = encode(message_created(IG_CONVERSATION, IG_SECOND))

    value = signature("s3cret-value", 1781092805, body)

    assert value.startswith("sha256=")
    assert HEX64.match(value.removeprefix("sha256="))
    assert value == "sha256=" + hmac_hex("s3cret-value", 1781092805, body)


def test_signature_depends_on_secret_timestamp_and_every_byte() -> None:
    body = encode({"a": 1})
    reference = signature("s3cret-value", 1781092805, body)

    assert signature("s3cret-valuf", 1781092805, body) != reference
    assert signature("s3cret-value", 1781092806, body) != reference
    assert signature("s3cret-value", 1781092805, body + b" ") != reference


def test_delivery_headers_with_a_secret_sign_the_exact_body() -> None:
    body = encode(conversation_created(IG_CONVERSATION, IG_FIRST))

    headers = delivery_headers(body, secret="s3cret-value", timestamp=1781092800)

    assert headers["Content-Type"] == "application/json"
    assert headers["Accept"] == "application/json"
    assert headers["X-Chatwoot-Timestamp"] == "1781092800"
    assert headers["X-Chatwoot-Signature"] == "sha256=" + hmac_hex("s3cret-value", "1781092800", body)
    uuid.UUID(headers["X-Chatwoot-Delivery"])


def test_delivery_headers_default_to_the_current_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("golive.payloads.chatwoot.time", SimpleNamespace(time=lambda: 1781092999.7))
    body = b"{}"

    headers = delivery_headers(body, secret="s3cret-value")

    assert headers["X-Chatwoot-Timestamp"] == "1781092999"
    assert headers["X-Chatwoot-Signature"] == "sha256=" + hmac_hex("s3cret-value", 1781092999, body)


@pytest.mark.parametrize("secret", [None, ""])
def test_delivery_headers_without_a_secret_carry_no_signature(secret: str | None) -> None:
    headers = delivery_headers(b"{}", secret=secret, timestamp=1781092800)

    assert set(headers) == {"Content-Type", "Accept", "X-Chatwoot-Delivery"}
    uuid.UUID(headers["X-Chatwoot-Delivery"])


def test_each_delivery_gets_a_fresh_delivery_id() -> None:
    ids = {delivery_headers(b"{}", secret="s3cret-value")["X-Chatwoot-Delivery"] for _ in range(50)}

    assert len(ids) == 50


def test_a_given_delivery_id_is_kept() -> None:
    headers = delivery_headers(b"{}", secret=None, delivery_id="5d0c9d3a-0000-4000-8000-1234")

    assert headers["X-Chatwoot-Delivery"] == "5d0c9d3a-0000-4000-8000-1234"


def test_legacy_mode_sends_the_shared_secret_and_no_timestamp() -> None:
    headers = delivery_headers(b"{}", secret="s3cret-value", mode="legacy", timestamp=1781092800)

    assert headers["X-Chatwoot-Signature"] == "s3cret-value"
    assert "X-Chatwoot-Timestamp" not in headers
    assert "X-Chatwoot-Delivery" in headers
