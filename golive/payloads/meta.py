"""Meta's webhook events for the two channels Chatwoot receives from Meta: Instagram messaging
(`POST /webhooks/instagram`) and the WhatsApp Cloud API (`POST /webhooks/whatsapp/{phone}`),
as Meta posts them, and Meta's payload signature.

Instagram: `{object: "instagram", entry: [{id, time, messaging: [{sender, recipient, timestamp,
message | read}]}]}` — ids are strings of digits, times in milliseconds. A message the business
sends from Instagram itself comes back as an *echo* (`message.is_echo`, sender and recipient
swapped); an unsent message as `message.is_deleted`; a read receipt as `read.mid`.

WhatsApp Cloud: `{object: "whatsapp_business_account", entry: [{id, changes: [{field:
"messages", value: {messaging_product, metadata: {display_phone_number, phone_number_id},
contacts | messages | statuses}}]}]}` — the phone number without `+`, times in seconds as
strings; delivery and read receipts are `statuses`.

Meta serialises with non-ASCII characters escaped (`\\u00e7`), and signs the exact bytes:
`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed by the app secret>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal

MetaChannel = Literal["instagram", "whatsapp"]
SIGNATURE_HEADER = "X-Hub-Signature-256"
WhatsAppStatus = Literal["sent", "delivered", "read", "failed"]


@dataclass(frozen=True)
class MetaEvent:
    """One event as Meta would post it: the payload, its bytes (what is signed and sent), and
    the Meta message id it is about."""

    channel: MetaChannel
    kind: str  # message, echo, read, deleted, status
    payload: dict[str, Any]
    mid: str

    @property
    def body(self) -> bytes:
        return encode(self.payload)


def encode(payload: dict[str, Any]) -> bytes:
    """Compact JSON with non-ASCII escaped, as Meta sends it."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def hub_signature(secret: str, body: bytes) -> str:
    """`sha256=` + lowercase hex HMAC-SHA256 of the raw body, keyed by the Meta app secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers(body: bytes, app_secret: str | None) -> dict[str, str]:
    """What Meta sends with an event; the signature only when the app secret is known."""
    sent = {"Content-Type": "application/json"}
    if app_secret:
        sent[SIGNATURE_HEADER] = hub_signature(app_secret, body)
    return sent


# --- Instagram -----------------------------------------------------------------------------------


def _instagram(account_id: str, messaging: dict[str, Any], timestamp_ms: int) -> dict[str, Any]:
    return {
        "object": "instagram",
        "entry": [{"time": timestamp_ms, "id": account_id, "messaging": [messaging]}],
    }


def instagram_message(*, account_id: str, igsid: str, mid: str, text: str, timestamp_ms: int) -> MetaEvent:
    """A customer's direct message to the business account."""
    messaging = {
        "sender": {"id": igsid},
        "recipient": {"id": account_id},
        "timestamp": timestamp_ms,
        "message": {"mid": mid, "text": text},
    }
    return MetaEvent("instagram", "message", _instagram(account_id, messaging, timestamp_ms), mid)


def instagram_echo(*, account_id: str, igsid: str, mid: str, text: str, timestamp_ms: int) -> MetaEvent:
    """A message the business sent to the customer from Instagram itself, echoed back."""
    messaging = {
        "sender": {"id": account_id},
        "recipient": {"id": igsid},
        "timestamp": timestamp_ms,
        "message": {"mid": mid, "text": text, "is_echo": True},
    }
    return MetaEvent("instagram", "echo", _instagram(account_id, messaging, timestamp_ms), mid)


def instagram_deleted(*, account_id: str, igsid: str, mid: str, timestamp_ms: int) -> MetaEvent:
    """The customer unsent one of their messages."""
    messaging = {
        "sender": {"id": igsid},
        "recipient": {"id": account_id},
        "timestamp": timestamp_ms,
        "message": {"mid": mid, "is_deleted": True},
    }
    return MetaEvent("instagram", "deleted", _instagram(account_id, messaging, timestamp_ms), mid)


def instagram_read(*, account_id: str, igsid: str, mid: str, timestamp_ms: int) -> MetaEvent:
    """The customer read the conversation up to message `mid`."""
    messaging = {
        "sender": {"id": igsid},
        "recipient": {"id": account_id},
        "timestamp": timestamp_ms,
        "read": {"mid": mid},
    }
    return MetaEvent("instagram", "read", _instagram(account_id, messaging, timestamp_ms), mid)


# --- WhatsApp Cloud ------------------------------------------------------------------------------


def _whatsapp(phone_number: str, phone_number_id: str, value: dict[str, Any]) -> dict[str, Any]:
    metadata = {"display_phone_number": phone_number.lstrip("+"), "phone_number_id": phone_number_id}
    return {
        "object": "whatsapp_business_account",
        # entry.id is the WhatsApp Business Account; Chatwoot finds the channel by the metadata
        "entry": [
            {
                "id": phone_number_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {"messaging_product": "whatsapp", "metadata": metadata, **value},
                    }
                ],
            }
        ],
    }


def whatsapp_text(
    *,
    phone_number: str,
    phone_number_id: str,
    wa_id: str,
    name: str,
    wamid: str,
    text: str,
    timestamp_s: int,
) -> MetaEvent:
    """A customer's text message to the business number; `wa_id` is the customer's number
    without `+` (what Chatwoot keeps as the contact inbox's source_id)."""
    value = {
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [
            {
                "from": wa_id,
                "id": wamid,
                "timestamp": str(timestamp_s),
                "text": {"body": text},
                "type": "text",
            }
        ],
    }
    return MetaEvent("whatsapp", "message", _whatsapp(phone_number, phone_number_id, value), wamid)


def whatsapp_status(
    *,
    phone_number: str,
    phone_number_id: str,
    wa_id: str,
    wamid: str,
    status: WhatsAppStatus,
    timestamp_s: int,
    error: tuple[int, str] | None = None,
) -> MetaEvent:
    """A delivery receipt for a message the business sent (`wamid`): sent, delivered, read, or
    failed with Meta's error code and title."""
    state: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(timestamp_s),
        "recipient_id": wa_id,
    }
    if error is not None:
        state["errors"] = [{"code": error[0], "title": error[1]}]
    value = {"statuses": [state]}
    return MetaEvent("whatsapp", "status", _whatsapp(phone_number, phone_number_id, value), wamid)
