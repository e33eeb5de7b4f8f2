"""How the real LagostaCRM reads what Chatwoot sends, where that differs from the intended v2
behaviour (crm-contract §7). The fault profiles switch these readings on, one at a time, so the
kill matrix can prove the suite tells each defect apart. Written from reading the behaviour of
cirotrigo/lagostacrm (files named per function); none of its code is reproduced."""

from __future__ import annotations

import re
from typing import Any

from golive.sandbox.crm.rules import normalise_phone

_ALNUM_ID = re.compile(r"[A-Za-z0-9_]+")


def lenient_igsid(raw: object) -> str | None:
    """§7 #16 (`lib/messaging/identityKey.ts`): any run of letters, digits and `_` passes as an
    Instagram id, so `unknown` or a name becomes an identity."""
    if isinstance(raw, str) and _ALNUM_ID.fullmatch(raw.strip()):
        return raw.strip()
    return None


def lenient_phone(raw: object) -> str | None:
    """§7 #16 (`lib/phone.ts` + `identityKey.ts`): a real number is normalised, anything else of
    eight characters or more is kept as typed and accepted as a WhatsApp id."""
    if not isinstance(raw, str):
        return None
    phone = normalise_phone(raw)
    if phone:
        return phone
    text = raw.strip()
    return text if len(text) >= 8 else None


def sender_type_by_email_key(sender: Any) -> str | None:
    """`lib/chatwoot/webhooks.ts` (message cache): a sender with an `email` key is a user, any
    other one a contact. Chatwoot's contact senders carry `email` too, and bots do not."""
    if not isinstance(sender, dict):
        return None
    return "user" if "email" in sender else "contact"


def epoch_times_thousand(value: Any) -> str | None:
    """§7 #15 (`lib/chatwoot/webhooks.ts`): `created_at` is read as epoch seconds and multiplied
    by 1000; an ISO string (what Chatwoot sends at the top level) makes an invalid date, and
    turning it into ISO text throws, which the route answers with 500. The reason, or None."""
    if isinstance(value, str):
        return f"created_at {value[:40]!r} * 1000 is NaN: RangeError: Invalid time value"
    return None
