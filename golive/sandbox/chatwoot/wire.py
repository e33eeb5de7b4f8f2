"""Chatwoot's vocabulary (channels, events, message types) and how its Rails app writes
values on the wire and reads request params."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

CHANNEL_API = "Channel::Api"
CHANNEL_WHATSAPP = "Channel::Whatsapp"
CHANNEL_INSTAGRAM = "Channel::Instagram"
CHANNEL_TYPES = (CHANNEL_WHATSAPP, CHANNEL_INSTAGRAM, CHANNEL_API)

# Account webhook subscription options of v4.10 (Webhook::ALLOWED_WEBHOOK_EVENTS).
WEBHOOK_EVENTS = (
    "conversation_created",
    "conversation_updated",
    "conversation_status_changed",
    "message_created",
    "message_updated",
    "contact_created",
    "contact_updated",
    "webwidget_triggered",
    "inbox_created",
    "inbox_updated",
    "conversation_typing_on",
    "conversation_typing_off",
)
MESSAGE_TYPES = {"incoming": 0, "outgoing": 1, "activity": 2, "template": 3}
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

# --- writing ---------------------------------------------------------------------------------

_RAILS_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def rails_json(value: Any) -> bytes:
    """Serialise like ActiveSupport's `to_json`: compact, UTF-8, HTML-significant chars escaped.

    The escaped characters can only occur inside JSON strings, so replacing them in the whole
    text is safe.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escaped in _RAILS_ESCAPES:
        text = text.replace(char, escaped)
    return text.encode("utf-8")


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    """Rails' JSON time: ISO-8601, UTC, milliseconds, `Z`."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch(moment: datetime | None) -> int:
    """`Time#to_i`, with `nil.to_i == 0` for unset timestamps."""
    return int(moment.timestamp()) if moment is not None else 0


def secure_token(length: int = 24) -> str:
    """Like Rails' `has_secure_token`: base58, 24 characters."""
    return "".join(secrets.choice(_BASE58) for _ in range(length))


# --- reading params --------------------------------------------------------------------------


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


def text_or_none(value: Any) -> str | None:
    if blank(value):
        return None
    return value if isinstance(value, str) else str(value)


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "t", "yes", "on")
    return bool(value)


def as_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def parse_time(value: Any) -> datetime | None:
    number = as_int(value)
    if number is not None:
        return datetime.fromtimestamp(number, UTC)
    if isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
