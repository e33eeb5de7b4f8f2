"""The human hand-off: the `atendimento-humano` label in Chatwoot switches the AI off for the
conversation (crm-contract §3.4), and nothing but a change of that label switches it back on —
not a replay of an older event, not an update that carries no labels."""

from __future__ import annotations

from dataclasses import replace

from golive.clients.sql import SqlVerifier
from golive.payloads import chatwoot
from golive.scenario.data import DataFactory
from golive.scenario.injection import Conversations, Sent
from golive.scenario.webhooks import processed

HANDOFF_LABEL = "atendimento-humano"


def takes_over(conversations: Conversations, sent: Sent, data: DataFactory) -> Sent:
    """An agent adds the hand-off label and takes the conversation: Chatwoot reports it with
    `conversation_updated` (the labels and the assignee changed)."""
    agent = chatwoot.Agent(data.chatwoot_id() % 100_000 + 1, f"Atendente {data.run_id}")
    conv = replace(sent.conversation, labels=(HANDOFF_LABEL,), assignee=agent)
    changed: dict[str, tuple[object, object]] = {
        "label_list": ([], [HANDOFF_LABEL]),
        "assignee_id": (None, agent.id),
    }
    return conversations.conversation_changed(sent, conv, changed)


def took_over(conversations: Conversations, sent: Sent, data: DataFactory) -> Sent:
    """`takes_over`, as a precondition: the CRM must have processed it."""
    handoff = takes_over(conversations, sent, data)
    processed(handoff.answers, handoff.conversation_id)
    return handoff


def status_change_without_labels(conversations: Conversations, handoff: Sent) -> Sent:
    """The conversation goes to pending; the event carries no `labels` key (a partial payload)."""
    conv = replace(handoff.conversation, status="pending")
    return conversations.conversation_changed(
        handoff,
        conv,
        {"status": ("open", "pending")},
        event="conversation_status_changed",
        without=("labels",),
    )


def ai_off(sql: SqlVerifier, sent: Sent, why: str) -> None:
    links = sql.links(sent.conversation_id)
    if len(links) != 1:
        raise AssertionError(f"conversation {sent.conversation_id} has {len(links)} links, expected one")
    row = links[0].row
    if row["ai_enabled"] is not False:
        raise AssertionError(
            f"the AI is back on for conversation {sent.conversation_id} (ai_enabled="
            f"{row['ai_enabled']!r}) although an agent took it over with the '{HANDOFF_LABEL}' "
            f"label: {why}"
        )


def switched_off(sql: SqlVerifier, handoff: Sent) -> None:
    processed(handoff.answers, handoff.conversation_id)
    ai_off(sql, handoff, "the hand-off was not applied")
    row = sql.links(handoff.conversation_id)[0].row
    if row["handoff_source"] != "webhook" or row["handoff_at"] is None:
        raise AssertionError(
            f"the hand-off of conversation {handoff.conversation_id} left handoff_source="
            f"{row['handoff_source']!r}, handoff_at={row['handoff_at']!r}; expected 'webhook' and a time"
        )


def stays_off_after_replay(sql: SqlVerifier, handoff: Sent) -> None:
    ai_off(sql, handoff, "a replayed conversation_created (no labels) turned it back on")


def stays_off_after_partial_update(sql: SqlVerifier, update: Sent) -> None:
    processed(update.answers, update.conversation_id)
    ai_off(sql, update, "an update without a `labels` key was read as 'no labels'")
