"""The whole-state checks' own rules: which external id an event carries, and how a mismatch
is reported (table, field, expected, observed, the event)."""

from __future__ import annotations

import pytest

from golive.payloads.chatwoot import Contact, Conversation, Message
from golive.scenario.data import Person
from golive.scenario.injection import Sent
from golive.scenario.whole_state import Mismatches, expected_external_id


def sent(
    channel: str, *, source_id: str | None, phone: str | None = None, identifier: str | None = None
) -> Sent:
    conv = Conversation(
        account_id=7,
        account_name="A",
        inbox_id=31,
        inbox_name="I",
        channel="Channel::Instagram" if channel == "instagram" else "Channel::Whatsapp",
        display_id=418,
        contact=Contact(id=1, name="Ana", phone_number=phone, identifier=identifier),
        contact_inbox_id=2,
        source_id=source_id,
        created_at=1781092800,
    )
    return Sent(Person("Ana"), channel, conv, Message(3, "oi", 1781092800), (), ())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("channel", "source_id", "phone", "identifier", "expected"),
    [
        ("instagram", "17841400000000123", None, None, "17841400000000123"),
        ("instagram", None, None, "17841400000000456", "17841400000000456"),
        ("instagram", "unknown", None, None, None),
        ("whatsapp", "5511987654321", "+5511987654321", None, "+5511987654321"),
        ("whatsapp", "5511987654321", None, None, "+5511987654321"),
        ("whatsapp", "Maria Silva", "Maria Silva", None, None),
        ("whatsapp", "12345678", "12345678", None, None),
    ],
)
def test_the_external_id_an_event_carries(
    channel: str, source_id: str | None, phone: str | None, identifier: str | None, expected: str | None
) -> None:
    assert (
        expected_external_id(sent(channel, source_id=source_id, phone=phone, identifier=identifier))
        == expected
    )


def test_a_mismatch_names_table_field_expected_observed_and_event() -> None:
    out = Mismatches("conversation_created for conversation 418", [])
    out.expect("messaging_conversation_links", "assigned_agent_id", 17, None, "meta.assignee.id")
    out.expect("contacts", "name", "Ana", "Ana")  # equal: not reported

    with pytest.raises(AssertionError) as raised:
        out.raise_if_any()

    assert str(raised.value) == (
        "the CRM wrote rows that do not match the event (conversation_created for conversation 418): "
        "messaging_conversation_links.assigned_agent_id: expected 17 (meta.assignee.id), observed None"
    )


def test_no_mismatch_raises_nothing() -> None:
    Mismatches("e", []).raise_if_any()
