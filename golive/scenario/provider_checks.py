"""What the `provider` path proves end to end: a customer's message as Meta delivers it
reaches the CRM and the agent flow through Chatwoot, the agent's answer lands in the same
Chatwoot conversation, and Meta delivering one message twice leaves one message everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from golive.clients.chatwoot import ChatwootClient
from golive.clients.n8n import N8nClient
from golive.clients.sql import SqlVerifier
from golive.errors import WaitTimeout
from golive.organisation import Organisation
from golive.scenario import agent_flow, webhooks
from golive.scenario.injection import Conversations, Sent
from golive.scenario.provider import Arrival
from golive.waiting import eventually

OUTGOING = (1, "outgoing")
NEXT_MESSAGE = "Vocês têm opção vegetariana?"
AFTER_THE_DUPLICATE = "Obrigado!"


def _through_meta(sent: Sent) -> None:
    if sent.via != "provider":
        raise AssertionError(
            f"the {sent.channel} message went {sent.via}, not through Chatwoot's channel webhook "
            f"as Meta delivers it (the profile's inject_{sent.channel} must be provider)"
        )


# --- the whole loop ----------------------------------------------------------------------------


def delivered_from_meta(
    sql: SqlVerifier, n8n: N8nClient, org: Organisation, sent: Sent
) -> agent_flow.FlowRun:
    """Chatwoot took the message in from Meta (it holds it, under the sender's inbox link) and
    delivered it: the CRM linked the conversation and cached the message, and the agent flow
    ran for that very message id and answered."""
    _through_meta(sent)
    webhooks.recorded(sent, sql)
    return agent_flow.handled_run(n8n, org, sent)


def answer_in_same_conversation(
    chatwoot_api: ChatwootClient, org: Organisation, run: agent_flow.FlowRun
) -> None:
    """The agent's answer is an outgoing message of the conversation the customer wrote in —
    in Chatwoot itself, where an agent (and, on a real staging, Meta) takes it from."""
    sent = run.sent
    answer = str((run.execution.main_output(run.roles.agent or "") or {}).get("output") or "")
    own = sent.conversation_id

    def outgoing() -> list[str]:
        return [
            str(m.get("content"))
            for m in chatwoot_api.messages(own)
            if m.get("message_type") in OUTGOING and not m.get("private")
        ]

    try:
        eventually(outgoing, lambda shown: answer in shown, timeout=org.timeout_s, what="the agent's answer")
    except WaitTimeout:
        reply = run.execution.main_output(run.roles.reply or "") or {}
        raise AssertionError(
            f"the agent answered {answer!r}, but Chatwoot's conversation {own} — where the "
            f"customer wrote on {sent.channel} — does not show it (the flow posted to conversation "
            f"{reply.get('conversation_id')!r}); outgoing messages there: {outgoing()}"
        ) from None


# --- Meta delivers one message twice -------------------------------------------------------------


@dataclass(frozen=True)
class MetaTwice:
    """The customer's next message, Meta's same event again, and a later message (once Chatwoot
    and the CRM have that one, they have had their chance to duplicate the first)."""

    sent: Sent
    again: Arrival
    later: Sent


def meta_delivers_twice(conversations: Conversations, sql: SqlVerifier, previous: Sent) -> MetaTwice:
    _through_meta(previous)
    sent = conversations.next_message(previous, NEXT_MESSAGE)
    webhooks.written(sent, sql)
    again = conversations.meta_again(sent)
    later = conversations.next_message(sent, AFTER_THE_DUPLICATE)
    webhooks.written(later, sql)
    return MetaTwice(sent, again, later)


def once_in_chatwoot_and_crm(chatwoot_api: ChatwootClient, sql: SqlVerifier, twice: MetaTwice) -> None:
    sent = twice.sent
    mid = sent.meta_events[0].mid
    in_chatwoot = [m for m in chatwoot_api.messages(sent.conversation_id) if m.get("source_id") == mid]
    if len(in_chatwoot) != 1 or twice.again.filed.message.get("id") != sent.message.id:
        raise AssertionError(
            f"Meta delivered message {mid} twice and Chatwoot holds it {len(in_chatwoot)} times in "
            f"conversation {sent.conversation_id} (ids {[m.get('id') for m in in_chatwoot]}): "
            "Chatwoot must recognise Meta's message id and create nothing the second time"
        )
    rows = [r for r in sql.cached_contents(sent.conversation_id) if r["content"] == sent.message.content]
    if [r["chatwoot_message_id"] for r in rows] != [sent.message.id]:
        raise AssertionError(
            f"Meta delivered message {mid} twice; the CRM cached {len(rows)} message(s) with its text "
            f"for conversation {sent.conversation_id} (Chatwoot ids "
            f"{[r['chatwoot_message_id'] for r in rows]}), expected exactly message {sent.message.id}"
        )
