"""What kind of flow a workflow is: the inbound-message agent flow, or another flow.

The template v2 rules R2–R6 (deal_id before the agent, canonical keys, identity gate, source,
IGSID) describe the flow that answers inbound Chatwoot messages with an AI Agent. Other flows
of the same organisation — scheduled follow-ups, a label sync — have no agent, no session and
no inbound identity; only R1 (stage moves by ``deal_id``) applies to them.

An *agent flow* is a workflow where a webhook that receives Chatwoot events feeds an AI Agent
node. What a webhook receives is read from the payload fields the flow uses (``body.conversation``,
``body.sender``, ``body.messages`` of an automation-rule body …) and from its pinned sample. A
webhook whose payload fields are never read by name is taken for a Chatwoot webhook: the linter
only relaxes the agent rules on positive evidence that the webhook receives something else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from golive.n8n_lint.values import as_list, as_map, as_str, short_type, strings
from golive.n8n_lint.workflow import T_WEBHOOK, Workflow

AGENT_FLOW = "agent"
OTHER_FLOW = "other"

# fields of a Chatwoot account-webhook event or of an automation-rule (conversation) body
_CHATWOOT_FIELDS = frozenset(
    {
        "conversation",
        "message_type",
        "messages",
        "contact_inbox",
        "inbox",
        "meta",
        "private",
        "content_type",
        "content_attributes",
        "additional_attributes",
        "attachments",
        "account",
    }
)
# fields any inbound-message payload has (Chatwoot's, or a WhatsApp gateway's such as WPPConnect)
_MESSAGE_FIELDS = frozenset({"sender", "content", "message", "from", "text"})
_BODY_FIELD_RE = re.compile(
    r"\bbody\s*\??\.\s*([A-Za-z_$][\w$]*)|\bbody\s*\??\.?\s*\[\s*['\"]([^'\"\n]+)['\"]"
)
_CHATWOOT_EVENT_RE = re.compile(
    r"\b(?:automation_event\.\w+|message_created|message_updated|conversation_created"
    r"|conversation_updated|conversation_status_changed)\b"
)
_AUTOMATION_EVENT = "automation_event."


@dataclass(frozen=True)
class Flow:
    """The classification of one workflow, with the one-line reason shown in reports."""

    kind: str  # AGENT_FLOW | OTHER_FLOW
    reason: str

    @property
    def is_agent(self) -> bool:
        return self.kind == AGENT_FLOW


@dataclass(frozen=True)
class _Payload:
    """What the flow shows about a webhook's payload."""

    fields: tuple[str, ...]  # body fields read by name, in first-seen order
    events: tuple[str, ...]  # Chatwoot event names the flow or the pinned sample mentions

    @property
    def message_fields(self) -> list[str]:
        return [f for f in self.fields if f in _CHATWOOT_FIELDS | _MESSAGE_FIELDS]

    @property
    def is_chatwoot(self) -> bool:
        return bool(self.events) or any(f in _CHATWOOT_FIELDS for f in self.fields)

    @property
    def is_other(self) -> bool:
        """Fields are read, and none of them (nor any event name) belongs to a message event."""
        return bool(self.fields) and not (self.is_chatwoot or self.message_fields)


def _payload(wf: Workflow, webhook: str) -> _Payload:
    fields: list[str] = []
    events: list[str] = []
    for item in as_list(wf.pin_data.get(webhook)):  # a real payload sample comes first
        body = as_map(as_map(as_map(item).get("json")).get("body"))
        fields.extend(str(key) for key in body)
        event = as_str(body.get("event"))
        if _CHATWOOT_EVENT_RE.fullmatch(event):
            events.append(event)
    scope = [webhook, *wf.descendants(webhook)]
    scope += [sub for node in scope for sub in wf.sub_nodes_of(node)]
    for node in dict.fromkeys(scope):
        if wf.disabled(node):
            continue
        for text in strings(wf.params(node)):
            for m in _BODY_FIELD_RE.finditer(text):
                fields.append(m.group(1) or m.group(2))
            events.extend(m.group(0) for m in _CHATWOOT_EVENT_RE.finditer(text))
    return _Payload(tuple(dict.fromkeys(fields)), tuple(dict.fromkeys(events)))


def _listing(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (", …" if len(names) > limit else "")


def _agent_reason(webhook: str, agent: str, payload: _Payload) -> str:
    automation = [e for e in payload.events if e.startswith(_AUTOMATION_EVENT)]
    if automation:
        what = f"a Chatwoot automation-rule body ({automation[0]})"
    elif payload.is_chatwoot:
        what = "Chatwoot events"
    elif payload.message_fields:
        what = "inbound messages (not Chatwoot-shaped)"
    else:
        return (
            f'webhook "{webhook}" feeds agent "{agent}"; no payload field is read by name, '
            "so it is taken for a Chatwoot message flow"
        )
    seen = [f"body.{f}" for f in payload.message_fields]
    reads = f", reads {_listing(seen)}," if seen else ""
    return f'webhook "{webhook}" receives {what}{reads} and feeds agent "{agent}"'


def _main_agent(wf: Workflow, agents: list[str]) -> str:
    """The conversational agent: the one with the most tools/memory wired in (ties: first)."""
    return max(agents, key=lambda a: len(wf.ai_in.get(a, [])))


def _trigger_list(wf: Workflow, payloads: dict[str, _Payload]) -> str:
    parts: list[str] = []
    for name in wf.triggers():
        if wf.disabled(name):
            continue
        text = f'{short_type(wf.type_of(name))} "{name}"'
        payload = payloads.get(name)
        if payload is not None and payload.is_other:
            text += f" (reads {_listing([f'body.{f}' for f in payload.fields])})"
        parts.append(text)
    return ", ".join(parts) or "none"


def classify(wf: Workflow) -> Flow:
    """An agent flow when a Chatwoot webhook feeds an AI Agent node; another flow otherwise."""
    agents = [n for n in wf.enabled() if wf.is_agent_node(n)]
    webhooks = [n for n in wf.enabled() if wf.type_of(n) == T_WEBHOOK]
    payloads = {w: _payload(wf, w) for w in webhooks}
    for webhook in webhooks:
        fed = [n for n in wf.descendants(webhook) if n in agents]
        if fed and not payloads[webhook].is_other:
            return Flow(AGENT_FLOW, _agent_reason(webhook, _main_agent(wf, fed), payloads[webhook]))
    triggers = _trigger_list(wf, payloads)
    if not agents:
        return Flow(OTHER_FLOW, f"no AI Agent node; triggers: {triggers}")
    return Flow(
        OTHER_FLOW,
        f'agent "{agents[0]}" is not fed by a webhook that receives Chatwoot events; triggers: {triggers}',
    )
