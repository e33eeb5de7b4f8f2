"""Chatwoot's vocabulary (channels, events, message types) and how its Rails app writes
values on the wire and reads request params."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
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
NEWEST_VERSION = "4.15.0"
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
_DIGITS = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class Build:
    """What a Chatwoot version puts on the wire (chatwoot-wire-format.md §2, §4.1)."""

    version: str = NEWEST_VERSION

    def __post_init__(self) -> None:
        if not _VERSION.fullmatch(self.version.strip()):
            raise ValueError(f"Chatwoot version {self.version!r} is not MAJOR.MINOR.PATCH")

    def _at_least(self, minimum: str) -> bool:
        def parts(v: str) -> tuple[int, ...]:
            match = _VERSION.fullmatch(v.strip())
            assert match is not None
            return tuple(int(n) for n in match.groups())

        return parts(self.version) >= parts(minimum)

    @property
    def signs_account_webhooks(self) -> bool:
        """PR #13573, from 4.11.2: `X-Chatwoot-Signature`, `-Timestamp` and `-Delivery`."""
        return self._at_least("4.11.2")

    @property
    def signs_api_inbox_webhooks(self) -> bool:
        """PR #13892, from 4.13.0: API-channel inbox callbacks (and agent bots) are signed too."""
        return self._at_least("4.13.0")

    @property
    def checks_meta_signature(self) -> bool:
        """PR #14280 (merged 2026-04-27; taken as first in 4.14.0): the Instagram and WhatsApp channel
        webhooks answer 401 unless X-Hub-Signature-256 is Meta's HMAC of the body."""
        return self._at_least("4.14.0")

    @property
    def keeps_first_dm_without_profile(self) -> bool:
        """When Meta's Graph API will not give a new Instagram contact's profile, newer code
        makes the contact "Unknown (IG: <igsid>)"; older builds create no contact, and the
        message is dropped (`create_message` returns without a contact inbox). The newest code
        read has the fallback; the double gives it to its newest build."""
        return self._at_least("4.15.0")

    @property
    def account_in_conversation_events(self) -> bool:
        """`account` at the top level of conversation events: 4.15-based builds only."""
        return self._at_least("4.15.0")


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
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())  # ASCII digits only: "²".isdigit() is true, int("²") fails
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


def reject_constant(name: str) -> Any:
    """`json.loads` hook: NaN and Infinity are not JSON (Python would accept them)."""
    raise ValueError(f"{name} is not JSON")


def utf8_clean(value: Any) -> bool:
    """No string in `value` (keys included) holds a lone surrogate. Walked without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True
