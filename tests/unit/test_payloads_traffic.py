"""Chatwoot's traffic beyond a customer's text, as the payload builders shape it: builds before
and after signing and the top-level `account`, auto-assigned conversations, agent and bot
senders, files (chatwoot-wire-format.md §2, §4.1–§4.3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from golive.clients.webhook import Signing, WebhookEmitter
from golive.organisation import Organisation
from golive.payloads.chatwoot import (
    Agent,
    Attachment,
    Build,
    Contact,
    Conversation,
    Message,
    conversation_created,
    delivery_headers,
    message_created,
)
from golive.scenario.data import DataFactory, Person
from golive.scenario.injection import Conversations
from golive.secrets import Secret

CONV = Conversation(
    account_id=7,
    account_name="Coronel Staging",
    inbox_id=31,
    inbox_name="Instagram Coronel",
    channel="Channel::Instagram",
    display_id=418,
    contact=Contact(id=5120, name="Ana Beatriz"),
    contact_inbox_id=8810,
    source_id="1789456123000456",
    created_at=1781092800,
)
AGENT = Agent(17, "Joana Atendente")
PHOTO = Attachment(70001, "image", "prato.jpg", 48_213, 1080, 1350)
VOICE = Attachment(70002, "audio", "audio.ogg", 18_230)


# --- builds -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "signs", "sends_account"),
    [
        ("4.10.1", False, False),
        ("4.11.1", False, False),
        ("4.11.2", True, False),
        ("4.13.0", True, False),
        ("4.14.9", True, False),
        ("4.15.0", True, True),
        ("v5.0.0", True, True),
    ],
)
def test_what_each_chatwoot_build_sends(version: str, signs: bool, sends_account: bool) -> None:
    build = Build(version)

    assert (build.signs, build.sends_account) == (signs, sends_account)


def test_a_version_that_is_not_major_minor_patch_is_refused() -> None:
    with pytest.raises(ValueError, match=r"MAJOR\.MINOR\.PATCH"):
        _ = Build("4.11").signs


def test_a_build_before_4_11_2_sends_no_signature_and_no_delivery_id() -> None:
    headers = delivery_headers(b"{}", secret="s3cret-value", build=Build("4.11.1"), timestamp=1781092800)

    assert headers == {"Content-Type": "application/json", "Accept": "application/json"}


def test_a_build_from_4_11_2_always_signs() -> None:
    headers = delivery_headers(b"{}", secret="s3cret-value", build=Build("4.11.2"), timestamp=1781092800)

    assert headers["X-Chatwoot-Timestamp"] == "1781092800"
    assert headers["X-Chatwoot-Signature"].startswith("sha256=")
    assert headers["X-Chatwoot-Delivery"]


def _emitter() -> WebhookEmitter:
    return WebhookEmitter(
        http=httpx.Client(base_url="https://crm.invalid"),
        organisation="coronel",
        path="/api/chatwoot/webhook",
        secret=Secret("CORONEL_SECRET", "s3cret-value"),
    )


def test_the_emitter_follows_the_build_for_genuine_deliveries_only() -> None:
    emitter = _emitter()
    old = Build("4.10.0")

    genuine = emitter.prepare({"event": "conversation_created"}, build=old)
    forged = emitter.prepare({"event": "conversation_created"}, build=old, signing=Signing.WRONG)

    assert "X-Chatwoot-Signature" not in genuine.headers
    assert "X-Chatwoot-Signature" in forged.headers  # a forgery is made whatever the build


def test_extra_headers_ride_along_with_the_signed_delivery() -> None:
    delivery = _emitter().prepare({"event": "x"}, extra_headers={"X-Organization-Id": "org-b"})

    assert delivery.headers["X-Organization-Id"] == "org-b"
    assert delivery.headers["X-Chatwoot-Signature"].startswith("sha256=")


@pytest.mark.parametrize(("version", "has_account"), [("4.14.0", False), ("4.15.0", True)])
def test_the_suite_shapes_conversations_as_the_profiles_chatwoot_does(
    make_org: Callable[..., Organisation], version: str, has_account: bool
) -> None:
    org = make_org(chatwoot={"version": version})
    conversations = Conversations(organisation=org, crm_webhook=_emitter(), data=DataFactory("r", seed=3))
    person = Person(name="Ana", igsid="17841400000000123")

    payload = conversation_created(conversations.conversation("instagram", person), None)

    assert ("account" in payload) is has_account


# --- an auto-assigned conversation ------------------------------------------------------------


def test_an_auto_assigned_conversation_names_its_agent_in_meta() -> None:
    conv = Conversation(**{**CONV.__dict__, "assignee": AGENT})
    first = Message(id=1, content="Oi", created_at=1781092800)

    payload = conversation_created(conv, first)

    assert payload["meta"]["assignee"] == {
        "id": 17,
        "name": "Joana Atendente",
        "available_name": "Joana Atendente",
        "avatar_url": "",
        "type": "user",
        "availability_status": "online",
        "thumbnail": "",
    }
    assert payload["meta"]["assignee_type"] == "User"
    assert payload["messages"][0]["conversation"]["assignee_id"] == 17


def test_an_unassigned_conversation_has_a_null_assignee() -> None:
    payload = conversation_created(CONV, None)

    assert payload["meta"]["assignee"] is None
    assert payload["meta"]["assignee_type"] is None


# --- who wrote the message --------------------------------------------------------------------


def _senders(message: Message) -> tuple[dict[str, Any], dict[str, Any], str]:
    payload = message_created(CONV, message)
    embedded = payload["conversation"]["messages"][0]
    return payload["sender"], embedded["sender"], embedded["sender_type"]


def test_a_bot_reply_is_outgoing_from_an_agent_bot() -> None:
    bot = Agent(3, "Lagosta Bot")
    reply = Message(
        id=2, content="Olá!", created_at=1781092801, message_type="outgoing", sender="bot", agent=bot
    )

    top, embedded, sender_type = _senders(reply)

    assert message_created(CONV, reply)["message_type"] == "outgoing"
    assert top == {"id": 3, "name": "Lagosta Bot", "type": "agent_bot"}
    assert embedded == {"id": 3, "name": "Lagosta Bot", "avatar_url": "", "type": "agent_bot"}
    assert sender_type == "AgentBot"


def test_an_agent_reply_comes_from_a_user_with_an_email() -> None:
    reply = Message(
        id=2, content="Oi", created_at=1781092801, message_type="outgoing", sender="agent", agent=AGENT
    )

    top, embedded, sender_type = _senders(reply)

    assert top["type"] == "user" and top["id"] == 17 and "email" in top
    assert embedded["type"] == "user"
    assert sender_type == "User"


def test_a_customer_message_sender_has_no_type_at_the_top_level() -> None:
    top, embedded, sender_type = _senders(Message(id=2, content="Oi", created_at=1781092801))

    assert "type" not in top and top["name"] == "Ana Beatriz"
    assert embedded["type"] == "contact"
    assert sender_type == "Contact"


# --- files ------------------------------------------------------------------------------------


def test_a_message_with_files_carries_their_push_data_in_both_places() -> None:
    message = Message(id=2, content=None, created_at=1781092801, attachments=(PHOTO, VOICE))

    payload = message_created(CONV, message)

    assert payload["content"] is None
    for attachments in (payload["attachments"], payload["conversation"]["messages"][0]["attachments"]):
        image, audio = attachments
        assert image["file_type"] == "image" and (image["width"], image["height"]) == (1080, 1350)
        assert image["message_id"] == 2 and image["account_id"] == 7 and image["extension"] == "jpg"
        assert image["data_url"].endswith("/prato.jpg") and image["thumb_url"]
        assert audio["file_type"] == "audio" and "width" not in audio and audio["thumb_url"] == ""


def test_a_message_without_files_has_no_attachments_key() -> None:
    payload = message_created(CONV, Message(id=2, content="Oi", created_at=1781092801))

    assert "attachments" not in payload
    assert "attachments" not in payload["conversation"]["messages"][0]
