"""The CRM double's own reading of the identity rules (crm-contract §3.3, §4.3).

Deliberately written apart from golive.identity: the double and the suite are two
implementations of one contract, so a mistake in one is caught by the other.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

CHANNEL_SOURCES = {"Channel::Instagram": "INSTAGRAM", "Channel::Whatsapp": "WHATSAPP"}
HANDOFF_LABEL = "atendimento-humano"


def normalise_phone(raw: object) -> str | None:
    """E.164 with Brazil as default country, or None when it is not a real number."""
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if text.startswith("whatsapp:"):
        text = text[len("whatsapp:") :]
    for jid in ("@c.us", "@s.whatsapp.net"):
        text = text.removesuffix(jid)
    if "@" in text:
        return None
    compact = re.sub(r"[\s\-()]", "", text)
    if not re.fullmatch(r"\+?\d{8,15}", compact):
        return None
    if not compact.startswith("+") and len(compact) >= 12:
        compact = "+" + compact
    try:
        parsed = phonenumbers.parse(compact, "BR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def valid_igsid(raw: object) -> str | None:
    if isinstance(raw, str) and re.fullmatch(r"\d{10,20}", raw.strip()):
        return raw.strip()
    return None


def normalise_email(raw: object) -> str | None:
    if not isinstance(raw, str):
        return None
    email = raw.strip().lower()
    if "@" not in email or email.endswith(("@chat.local", "@instagram.local")):
        return None
    return email


def dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
