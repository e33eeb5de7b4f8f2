"""The pure parts of the n8n double's flow: the "Filtrar mensagens" filter and the "Identidade
canonica" node (source from the channel, external id from the payload, session key), for both
Chatwoot trigger shapes: the account webhook's `message_created` (the message at the top, the
conversation in `conversation`) and the automation rule's `automation_event.message_created`
(the conversation at the top, the message in `messages[0]`)."""

from __future__ import annotations

import re
from typing import Any

from golive.sandbox.crm.rules import dig, normalise_phone
from golive.sandbox.n8n.records import WorkflowSetup

# the template's own constants, not the CRM's
CHANNEL_TO_SOURCE = {"Channel::Instagram": "INSTAGRAM", "Channel::Whatsapp": "WHATSAPP"}
IGSID_RE = re.compile(r"[0-9]{10,20}")
HANDOFF_LABEL = "atendimento-humano"
EVENTS = ("message_created", "automation_event.message_created")
AUTOMATION = "automation_event."


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def shapes(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(conversation, message) of either trigger shape."""
    if str(body.get("event") or "").startswith(AUTOMATION):
        messages = body.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else {}
        return body, _dict(first)
    return _dict(body.get("conversation")), body


def passes_filter(body: dict[str, Any]) -> bool:
    """Filtrar mensagens: an incoming message event of either shape, not private, no hand-off."""
    conversation, message = shapes(body)
    kind = message.get("message_type")
    labels = conversation.get("labels")
    return (
        body.get("event") in EVENTS
        and str(kind) in ("incoming", "0")
        and message.get("private") is not True
        and HANDOFF_LABEL not in (labels if isinstance(labels, list) else [])
    )


def canonical_identity(setup: WorkflowSetup, body: dict[str, Any], faults: frozenset[str]) -> dict[str, Any]:
    """Identidade canonica: source from the channel, external id from the payload, no fallback —
    except under the workflow faults that model the broken variants (a name standing in for the
    IGSID; a key without the channel prefix)."""
    conversation, message = shapes(body)
    channel = conversation.get("channel")
    source: str | None = None
    if isinstance(channel, str) and channel in CHANNEL_TO_SOURCE:
        source = CHANNEL_TO_SOURCE[channel]
    elif channel == "Channel::Api":
        inbox = conversation.get("inbox_id")
        if inbox is None:
            inbox = dig(body, "inbox", "id")
        if isinstance(inbox, int) and not isinstance(inbox, bool):
            configured = setup.api_channel_sources.get(inbox)
            source = configured if configured in ("INSTAGRAM", "WHATSAPP") else None
    external_id: str | None = None
    reason: str | None = None
    if source == "INSTAGRAM":
        raw = dig(conversation, "contact_inbox", "source_id")
        if raw is None:  # the template's `??`: identifier only when source_id is absent
            raw = dig(message, "sender", "identifier")
        igsid = str(raw if raw is not None else "").strip()
        if IGSID_RE.fullmatch(igsid):
            external_id = igsid
        elif "n8n-name-memory-key" in faults:  # nonconformant/r4-name-fallback.json
            name = dig(message, "sender", "name")
            if name is None:
                name = dig(conversation, "meta", "sender", "name")
            external_id = str(name if name is not None else "unknown")
        else:
            reason = "invalid_igsid"
    elif source == "WHATSAPP":
        external_id = normalise_phone(dig(message, "sender", "phone_number"))
        if external_id is None:
            reason = "invalid_phone"
    else:
        reason = "unsupported_channel"
    valid = external_id is not None
    session_key: str | None = None
    if valid and source is not None:
        prefix = "" if "key-without-prefix" in faults else f"{source.lower()}:"
        session_key = f"{prefix}{external_id}"
    content = message.get("content")
    return {
        "source": source,
        "external_id": external_id,
        "session_key": session_key,
        "valid": valid,
        "invalid_reason": reason,
        "conversation_id": conversation.get("id"),
        "content": str(content if content is not None else ""),
    }
