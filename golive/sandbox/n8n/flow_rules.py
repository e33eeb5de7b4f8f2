"""The pure parts of the n8n double's flow: the "Filtrar mensagens" filter and the "Identidade
canonica" node (source from the channel, external id from the payload, session key)."""

from __future__ import annotations

import re
from typing import Any

from golive.sandbox.crm.rules import dig, normalise_phone
from golive.sandbox.n8n.records import WorkflowSetup

# the template's own constants, not the CRM's
CHANNEL_TO_SOURCE = {"Channel::Instagram": "INSTAGRAM", "Channel::Whatsapp": "WHATSAPP"}
IGSID_RE = re.compile(r"[0-9]{10,20}")
HANDOFF_LABEL = "atendimento-humano"


def passes_filter(body: dict[str, Any]) -> bool:
    """Filtrar mensagens: incoming `message_created`, not private, no hand-off label."""
    labels = dig(body, "conversation", "labels")
    return (
        body.get("event") == "message_created"
        and body.get("message_type") == "incoming"
        and body.get("private") is not True
        and HANDOFF_LABEL not in (labels if isinstance(labels, list) else [])
    )


def canonical_identity(setup: WorkflowSetup, body: dict[str, Any], faults: frozenset[str]) -> dict[str, Any]:
    """Identidade canonica: source from the channel, external id from the payload, no fallback
    (except under the `n8n-name-memory-key` fault, which models the R4 name fallback)."""
    conversation = body.get("conversation") if isinstance(body.get("conversation"), dict) else {}
    assert isinstance(conversation, dict)
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
            raw = dig(body, "sender", "identifier")
        igsid = str(raw if raw is not None else "").strip()
        if IGSID_RE.fullmatch(igsid):
            external_id = igsid
        else:
            reason = "invalid_igsid"
    elif source == "WHATSAPP":
        external_id = normalise_phone(dig(body, "sender", "phone_number"))
        if external_id is None:
            reason = "invalid_phone"
    else:
        reason = "unsupported_channel"
    valid = external_id is not None
    session_key: str | None = None
    fallback_name: str | None = None
    if valid and source is not None:
        prefix = "" if "key-without-prefix" in faults else f"{source.lower()}:"
        session_key = f"{prefix}{external_id}"
    elif "n8n-name-memory-key" in faults:
        fallback_name = str(
            dig(conversation, "meta", "sender", "name") or dig(body, "sender", "name") or "unknown"
        )
        session_key = f"{(source or 'INSTAGRAM').lower()}:{fallback_name}"
        valid, reason = True, None
    identity: dict[str, Any] = {
        "source": source,
        "external_id": external_id,
        "session_key": session_key,
        "buffer_key": f"buffer:{session_key}" if session_key is not None else None,
        "valid": valid,
        "invalid_reason": reason,
    }
    if fallback_name is not None:
        identity["fallback_name"] = fallback_name
    return identity
