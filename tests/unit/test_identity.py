"""Canonical identities (crm-contract §4.3): `whatsapp:+<E.164>` and `instagram:<IGSID>`.

Validation is strict: whatever is not a real phone or an IGSID is rejected, never fixed up.
"""

from __future__ import annotations

import pytest

from golive.identity import (
    Identity,
    InvalidIdentity,
    e164,
    identity,
    igsid,
    parse_key,
)

# raw WhatsApp external id (phone, wa_id, JID, Twilio source_id) -> canonical key
WHATSAPP_ACCEPTED = {
    "+5511999990000": "whatsapp:+5511999990000",
    "5511999990000": "whatsapp:+5511999990000",  # wa_id: country code, no plus
    "11999990000": "whatsapp:+5511999990000",  # no country code: Brazil
    "(11) 99999-0000": "whatsapp:+5511999990000",
    "11 99999-0000": "whatsapp:+5511999990000",
    "+55 11 99999-0000": "whatsapp:+5511999990000",
    "+55 (11) 99999-0000": "whatsapp:+5511999990000",
    "55 11 99999 0000": "whatsapp:+5511999990000",
    "  +5511999990000  ": "whatsapp:+5511999990000",
    "5511999990000@c.us": "whatsapp:+5511999990000",
    "5511999990000@s.whatsapp.net": "whatsapp:+5511999990000",
    "whatsapp:+5511999990000": "whatsapp:+5511999990000",  # Twilio's source_id
    "5521987654321": "whatsapp:+5521987654321",
    "+5511987654321": "whatsapp:+5511987654321",
    "1133334444": "whatsapp:+551133334444",  # a valid landline (WhatsApp Business)
    "+14155552671": "whatsapp:+14155552671",  # a foreign number with its country code
}

WHATSAPP_REJECTED = [
    "Maria Silva",
    "maria",
    "unknown",
    "ig-unknown",
    "Cliente",
    "",
    "   ",
    "conversation:42",
    "instagram:conversation:42",
    "chatwoot:conversation:42",
    "120363025246125486@g.us",  # a group
    "5511999990000-1600000000@g.us",  # a legacy group id
    "5511999990000-1600000000@c.us",  # an id with a dash is never a person
    "204812345678901@lid",  # a WhatsApp LID, not a phone
    "5511999990000@chat.local",  # synthetic emails
    "5511999990000@instagram.local",
    "maria@example.com",
    "12345678",  # digits, but not a phone number
    "invalidphone",
    "+55119999",  # too short
    "+5511999990000123456",  # too long
    "+5500999990000",  # no such area code
    "55+11999990000",
]

# raw Instagram external id -> canonical key
INSTAGRAM_ACCEPTED = {
    "17841400000000000": "instagram:17841400000000000",
    "1789456123000456": "instagram:1789456123000456",
    "1234567890": "instagram:1234567890",  # 10 digits: the shortest accepted
    "1" * 20: "instagram:" + "1" * 20,  # 20 digits: the longest accepted
}

INSTAGRAM_REJECTED = [
    "ana.bea.teste",
    "joao",
    "Maria Silva",
    "unknown",
    "ig-unknown",
    "Cliente",
    "",
    "instagram:conversation:42",
    "conversation:42",
    "chatwoot:conversation:42",
    "123456789",  # 9 digits
    "1" * 21,  # 21 digits
    "1784140000000000a",
    "17841400000-000000",
    "+17841400000000000",
    "joao@instagram.local",
    "17841400000000000@instagram.local",
    "１７８４１４０００００００００００００",  # full-width digits
]


@pytest.mark.parametrize(("raw", "key"), WHATSAPP_ACCEPTED.items())
def test_whatsapp_inputs_normalise_to_the_canonical_key(raw: str, key: str) -> None:
    found = identity("WHATSAPP", raw)

    assert found.key == key
    assert found.source == "WHATSAPP"
    assert found.channel == "whatsapp"
    assert "whatsapp:" + e164(raw) == key


@pytest.mark.parametrize("raw", WHATSAPP_REJECTED)
def test_whatsapp_inputs_that_are_not_real_phones_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidIdentity):
        identity("WHATSAPP", raw)


@pytest.mark.parametrize(("raw", "key"), INSTAGRAM_ACCEPTED.items())
def test_igsids_become_instagram_keys(raw: str, key: str) -> None:
    found = identity("INSTAGRAM", raw)

    assert found.key == key
    assert found.source == "INSTAGRAM"
    assert found.channel == "instagram"
    assert igsid(raw) == raw


@pytest.mark.parametrize("raw", INSTAGRAM_REJECTED)
def test_instagram_inputs_that_are_not_igsids_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidIdentity):
        identity("INSTAGRAM", raw)


def test_an_instagram_id_is_never_taken_for_a_phone_and_back() -> None:
    with pytest.raises(InvalidIdentity):
        identity("INSTAGRAM", "+5511999990000")
    with pytest.raises(InvalidIdentity):
        identity("WHATSAPP", "17841400000000000")


def test_the_rejection_message_quotes_the_raw_input() -> None:
    with pytest.raises(InvalidIdentity, match="'Cliente'"):
        identity("WHATSAPP", "Cliente")
    with pytest.raises(InvalidIdentity, match="'ig-unknown'"):
        identity("INSTAGRAM", "ig-unknown")


@pytest.mark.parametrize("source", ["whatsapp", "instagram", "MESSENGER", "", "Channel::Instagram"])
def test_an_unknown_source_is_rejected(source: str) -> None:
    with pytest.raises(InvalidIdentity, match="source"):
        identity(source, "17841400000000000")


# --- parse_key: only canonical keys --------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("whatsapp:+5511999990000", Identity("WHATSAPP", "+5511999990000")),
        ("instagram:17841400000000000", Identity("INSTAGRAM", "17841400000000000")),
    ],
)
def test_parse_key_accepts_canonical_keys(key: str, expected: Identity) -> None:
    parsed = parse_key(key)

    assert parsed == expected
    assert parsed.key == key


@pytest.mark.parametrize(
    "key",
    [
        "whatsapp:5511999990000",  # no plus
        "whatsapp:11999990000",  # national form
        "whatsapp:+55 11 99999-0000",  # formatted
        "whatsapp:(11) 99999-0000",
        "whatsapp:5511999990000@c.us",
        "whatsapp:whatsapp:+5511999990000",
        "WHATSAPP:+5511999990000",  # upper-case prefix
        "Instagram:17841400000000000",
        "instagram: 17841400000000000",  # stray space
        "instagram:17841400000000000 ",
        "whatsapp:Maria Silva",
        "instagram:joao",
        "instagram:ig-unknown",
        "instagram:conversation:42",
        "chatwoot:conversation:42",
        "whatsapp:unknown",
        "whatsapp:",
        "instagram:",
        "17841400000000000",
        "+5511999990000",
        "whatsapp+5511999990000",
        "telegram:12345678901",
        "",
    ],
)
def test_parse_key_rejects_keys_that_are_not_canonical(key: str) -> None:
    with pytest.raises(InvalidIdentity):
        parse_key(key)
