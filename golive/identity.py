"""Canonical identities, as the CRM contract (§4.3) defines them.

`whatsapp:+<E.164>` and `instagram:<IGSID>` are the session, buffer and memory
keys of the v2 flow. Validation is strict: a name, `unknown`, a conversation key
or a phone that is not a real number is rejected, never "fixed up".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers

Source = Literal["WHATSAPP", "INSTAGRAM"]
DEFAULT_REGION = "BR"
IGSID_PATTERN = re.compile(r"[0-9]{10,20}")
_JID_SUFFIXES = ("@c.us", "@s.whatsapp.net")
_PHONE_PUNCTUATION = re.compile(r"[\s\-()]")


class InvalidIdentity(ValueError):
    """The value cannot be an external id for that channel."""


@dataclass(frozen=True)
class Identity:
    source: Source
    external_id: str

    @property
    def key(self) -> str:
        return f"{self.source.lower()}:{self.external_id}"

    @property
    def channel(self) -> str:
        return self.source.lower()


def e164(raw: str, *, region: str = DEFAULT_REGION) -> str:
    """A phone, wa_id or JID as E.164 (`+5511999990000`). Brazil is assumed without a country code."""
    value = raw.strip()
    if value.startswith("whatsapp:"):  # Twilio's source_id form
        value = value.removeprefix("whatsapp:")
    for suffix in _JID_SUFFIXES:
        if value.endswith(suffix):
            value = value[: -len(suffix)]
    if "@" in value or not value:
        raise InvalidIdentity(f"not a WhatsApp phone: {raw!r}")
    digits = _PHONE_PUNCTUATION.sub("", value)
    if not re.fullmatch(r"\+?[0-9]{8,15}", digits):
        raise InvalidIdentity(f"not a WhatsApp phone: {raw!r}")
    if not digits.startswith("+") and len(digits) > 11:
        digits = "+" + digits  # a wa_id carries its country code without the plus
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        raise InvalidIdentity(f"not a WhatsApp phone: {raw!r}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentity(f"not a valid phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def igsid(raw: str) -> str:
    value = raw.strip()
    if not IGSID_PATTERN.fullmatch(value):
        raise InvalidIdentity(f"not an IGSID (10-20 digits): {raw!r}")
    return value


def identity(source: str, raw_external_id: str) -> Identity:
    """Normalise an external id for its source (`WHATSAPP` / `INSTAGRAM`)."""
    if source == "WHATSAPP":
        return Identity("WHATSAPP", e164(raw_external_id))
    if source == "INSTAGRAM":
        return Identity("INSTAGRAM", igsid(raw_external_id))
    raise InvalidIdentity(f"unknown source: {source!r}")


def parse_key(key: str) -> Identity:
    """Accept only keys already in canonical form: `whatsapp:+E164` or `instagram:<IGSID>`."""
    prefix, sep, rest = key.partition(":")
    if not sep or prefix not in ("whatsapp", "instagram"):
        raise InvalidIdentity(f"not a canonical key (expected whatsapp:/instagram:): {key!r}")
    parsed = identity(prefix.upper(), rest)
    if parsed.key != key:
        raise InvalidIdentity(f"not canonical: {key!r} (canonical form is {parsed.key!r})")
    return parsed
