"""What Chatwoot's model callbacks dispatch: conversation and message events, the status change
with its activity message, and a message marked failed. All run under the store's lock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from golive.sandbox.chatwoot.delivery import Deliveries
from golive.sandbox.chatwoot.models import add_activity
from golive.sandbox.chatwoot.payloads import contact_webhook, conversation_data, message_webhook
from golive.sandbox.chatwoot.setup import AutomationRuleSetup
from golive.sandbox.chatwoot.state import Contact, Conversation, Message, Store
from golive.sandbox.chatwoot.wire import iso, now


def updated_at_change(before: datetime, after: datetime) -> dict[str, Any]:
    return {"updated_at": {"previous_value": iso(before), "current_value": iso(after)}}


class Events:
    def __init__(self, store: Store, deliveries: Deliveries) -> None:
        self._store = store
        self._deliveries = deliveries
        self._rules: list[tuple[int, AutomationRuleSetup]] = []  # (account id, rule); kept by reset

    def add_automation_rule(self, account_id: int, rule: AutomationRuleSetup) -> None:
        self._rules.append((account_id, rule))

    def automation_rules(self, account_id: int) -> list[AutomationRuleSetup]:
        return [rule for owner, rule in self._rules if owner == account_id]

    def conversation(
        self, event: str, conversation: Conversation, changed: list[dict[str, Any]] | None = None
    ) -> None:
        payload = conversation_data(self._store, conversation)
        payload["event"] = event
        if changed is not None:
            payload["changed_attributes"] = changed
        self._deliveries.emit(
            event, payload, conversation.account_id, self._store.inboxes[conversation.inbox_id]
        )

    def message(self, event: str, message: Message) -> None:
        if message.message_type == "activity":  # Message#webhook_sendable?
            return
        payload = message_webhook(self._store, message)
        payload["event"] = event
        self._deliveries.emit(event, payload, message.account_id, self._store.inboxes[message.inbox_id])
        self._automation(event, message)

    def _automation(self, event: str, message: Message) -> None:
        """`AutomationRuleListener` → `ActionService#send_webhook_event`: the conversation's
        `webhook_data` with `event: "automation_event.<event>"`, through `WebhookJob` with no
        secret (so unsigned)."""
        for account_id, rule in self._rules:
            if (
                account_id == message.account_id
                and rule.event == event
                and rule.message_type == message.message_type
                and (not rule.inbox_ids or message.inbox_id in rule.inbox_ids)
            ):
                conversation = self._store.conversations[message.conversation]
                payload = {
                    **conversation_data(self._store, conversation),
                    "event": f"automation_event.{event}",
                }
                self._deliveries.emit_to(rule.url, payload["event"], payload, rule.id)

    def contact_created(self, contact: Contact) -> None:
        payload = contact_webhook(self._store, contact)
        payload["event"] = "contact_created"
        self._deliveries.emit("contact_created", payload, contact.account_id, None)

    def mark_failed(self, message_id: int, error: str) -> None:
        """`Messages::StatusUpdateService(message, 'failed', error)`; the update dispatches
        `message_updated` (once: a message already failed does not change again)."""
        message = self._store.messages.get(message_id)
        if message is None or message.status == "failed":
            return
        message.status = "failed"
        message.content_attributes["external_error"] = error
        message.updated_at = now()
        self.message("message_updated", message)

    def change_status(
        self,
        conversation: Conversation,
        status: str,
        snoozed_until: datetime | None,
        *,
        by_system: bool = False,
    ) -> None:
        previous = conversation.status
        if previous == status:
            return
        agent = self._store.agent
        before = conversation.updated_at
        conversation.status = status
        conversation.snoozed_until = snoozed_until if status == "snoozed" else None
        conversation.updated_at = now()
        if by_system:
            text = "System reopened the conversation due to a new incoming message."
        else:
            text = {
                "resolved": f"Conversation was marked resolved by {agent.name}",
                "open": f"Conversation was reopened by {agent.name}",
                "pending": f"Conversation was marked as pending by {agent.name}",
                "snoozed": f"Conversation was snoozed by {agent.name}",
            }[status]
        status_change = {"status": {"previous_value": previous, "current_value": status}}
        # after_update_commit: notify_status_change, create_activity, notify_conversation_updation
        self.conversation("conversation_status_changed", conversation, [status_change])
        add_activity(self._store, conversation, text)
        self.conversation(
            "conversation_updated",
            conversation,
            [status_change, updated_at_change(before, conversation.updated_at)],
        )
