"""Conversations in the Application API: conversations, their status, labels, assignee and
messages. Each handler runs under the store's lock and answers (status, body)."""

from __future__ import annotations

import uuid
from typing import Any

from golive.sandbox.chatwoot import models
from golive.sandbox.chatwoot.calls import Call, not_found, server_error, unprocessable
from golive.sandbox.chatwoot.events import Events, updated_at_change
from golive.sandbox.chatwoot.payloads import contact_push, user_push
from golive.sandbox.chatwoot.state import Account, ContactInbox, Conversation, Inbox, Message, Store
from golive.sandbox.chatwoot.views import agent_rest, conversation_rest, message_rest
from golive.sandbox.chatwoot.wire import as_dict, as_int, blank, iso, now, parse_time, text_or_none, truthy

CONVERSATION_STATUSES = ("open", "resolved", "pending", "snoozed")
MESSAGES_PAGE = 20
CONVERSATIONS_PAGE = 25


class ConversationHandlers:
    def __init__(self, store: Store, events: Events) -> None:
        self._store = store
        self._events = events

    def _conversation_of(self, call: Call) -> Conversation:
        return self._store.conversation_of(call.account, call.path.get("conversation_id"))

    # --- conversations -----------------------------------------------------------------------

    def conversations_index(self, call: Call) -> tuple[int, Any]:
        agent_id = self._store.agent.id
        status = text_or_none(call.params.get("status")) or "open"
        inbox_id = as_int(call.params.get("inbox_id"))
        scoped = [
            c
            for c in self._store.conversations.values()
            if c.account_id == call.account.id
            and (status == "all" or c.status == status)
            and (inbox_id is None or c.inbox_id == inbox_id)
        ]
        mine = [c for c in scoped if c.assignee_id == agent_id]
        assigned = [c for c in scoped if c.assignee_id is not None]
        unassigned = [c for c in scoped if c.assignee_id is None]
        chosen = {"me": mine, "assigned": assigned, "unassigned": unassigned}.get(
            text_or_none(call.params.get("assignee_type")) or "all", scoped
        )
        chosen = sorted(chosen, key=lambda c: (c.last_activity_at, c.display_id), reverse=True)
        page = max(as_int(call.params.get("page")) or 1, 1)
        chunk = chosen[(page - 1) * CONVERSATIONS_PAGE : page * CONVERSATIONS_PAGE]
        return 200, {
            "data": {
                "meta": {
                    "mine_count": len(mine),
                    "assigned_count": len(assigned),
                    "unassigned_count": len(unassigned),
                    "all_count": len(scoped),
                },
                "payload": [conversation_rest(self._store, c) for c in chunk],
            }
        }

    def conversations_show(self, call: Call) -> tuple[int, Any]:
        return 200, conversation_rest(self._store, self._conversation_of(call))

    def conversations_create(self, call: Call) -> tuple[int, Any]:
        store = self._store
        params = call.params
        inbox = (
            None if blank(params.get("inbox_id")) else store.inbox_of(call.account, params.get("inbox_id"))
        )
        contact = (
            None
            if blank(params.get("contact_id"))
            else store.contact_of(call.account, params.get("contact_id"))
        )
        new_contact_inbox = False
        if inbox is not None and contact is not None:
            source_id = models.source_id_for(inbox, contact, params.get("source_id"))
            contact_inbox, new_contact_inbox = models.find_or_create_contact_inbox(
                store, contact, inbox, source_id
            )
        else:
            contact_inbox = self._contact_inbox_by_source(
                call.account, inbox, text_or_none(params.get("source_id"))
            )
        the_inbox = store.inboxes[contact_inbox.inbox_id]
        status = text_or_none(params.get("status")) or "open"
        if status not in CONVERSATION_STATUSES:
            raise server_error()  # ArgumentError "'x' is not a valid status", not rescued
        message_params = params.get("message")
        message_spec: tuple[str, str] | None = None
        if isinstance(message_params, dict) and message_params:
            try:
                message_spec = models.check_message_params(the_inbox, message_params)
            except ValueError:  # raised inside the create transaction, not rescued there
                raise server_error() from None
        # the transaction commits: from here on nothing can fail
        if new_contact_inbox:
            store.contact_inboxes[contact_inbox.id] = contact_inbox
        account = call.account
        moment = now()
        conversation = Conversation(
            account.id,
            account.next_display_id,
            the_inbox.id,
            contact_inbox.contact_id,
            contact_inbox.id,
            status,
            str(uuid.uuid4()),
            moment,
            moment,
            moment,
            moment,
            as_dict(params.get("additional_attributes")),
            as_dict(params.get("custom_attributes")),
        )
        if as_int(params.get("assignee_id")) == store.agent.id or the_inbox.auto_assign:
            conversation.assignee_id = store.agent.id  # auto-assignment runs before the event
        account.next_display_id += 1
        store.conversations[(account.id, conversation.display_id)] = conversation
        message: Message | None = None
        if message_spec is not None and isinstance(message_params, dict):
            message = models.add_message(
                store,
                conversation,
                content=text_or_none(message_params.get("content")),
                message_type=message_spec[0],
                content_type=message_spec[1],
                private=truthy(message_params.get("private")),
                content_attributes=as_dict(message_params.get("content_attributes")),
            )
        if message is not None and store.message_first:  # webhook jobs run in any order
            self._events.message("message_created", message)
        self._events.conversation("conversation_created", conversation)
        if message is not None and not store.message_first:
            self._events.message("message_created", message)
        return 200, conversation_rest(store, conversation)

    def _contact_inbox_by_source(
        self, account: Account, inbox: Inbox | None, source_id: str | None
    ) -> ContactInbox:
        """The legacy lookup: `ContactInbox.find_by!(source_id:)`."""
        candidates = [
            ci
            for ci in self._store.contact_inboxes.values()
            if source_id is not None
            and ci.source_id == source_id
            and self._store.inboxes[ci.inbox_id].account_id == account.id
        ]
        candidates.sort(key=lambda ci: (inbox is None or ci.inbox_id != inbox.id, ci.id))
        if not candidates:
            raise not_found()
        return candidates[0]

    def conversations_toggle_status(self, call: Call) -> tuple[int, Any]:
        conversation = self._conversation_of(call)
        wanted = text_or_none(call.params.get("status"))
        if wanted is None:
            wanted = "resolved" if conversation.status == "open" else "open"
        if wanted not in CONVERSATION_STATUSES:
            raise server_error()  # ArgumentError from the enum, not rescued
        snooze = parse_time(call.params.get("snoozed_until"))
        self._events.change_status(conversation, wanted, snooze)
        return 200, {
            "meta": {},
            "payload": {
                "success": True,
                "conversation_id": conversation.display_id,
                "current_status": conversation.status,
                "snoozed_until": iso(conversation.snoozed_until),
            },
        }

    def labels_index(self, call: Call) -> tuple[int, Any]:
        return 200, {"payload": list(self._conversation_of(call).labels)}

    def labels_create(self, call: Call) -> tuple[int, Any]:
        agent = self._store.agent
        conversation = self._conversation_of(call)
        raw = call.params.get("labels")
        wanted = list(
            dict.fromkeys(
                str(label).strip() for label in (raw if isinstance(raw, list) else []) if str(label).strip()
            )
        )
        previous = list(conversation.labels)
        if wanted != previous:
            before = conversation.updated_at
            conversation.labels = wanted
            conversation.updated_at = now()
            added = [label for label in wanted if label not in previous]
            removed = [label for label in previous if label not in wanted]
            if added:
                models.add_activity(self._store, conversation, f"{agent.name} added {', '.join(added)}")
            if removed:
                models.add_activity(self._store, conversation, f"{agent.name} removed {', '.join(removed)}")
            self._events.conversation(
                "conversation_updated",
                conversation,
                [
                    {"label_list": {"previous_value": previous, "current_value": wanted}},
                    updated_at_change(before, conversation.updated_at),
                ],
            )
        return 200, {"payload": list(conversation.labels)}

    def assignments_create(self, call: Call) -> tuple[int, Any]:
        agent = self._store.agent
        conversation = self._conversation_of(call)
        wanted = agent.id if as_int(call.params.get("assignee_id")) == agent.id else None
        previous = conversation.assignee_id
        if wanted != previous:
            before = conversation.updated_at
            conversation.assignee_id = wanted
            conversation.updated_at = now()
            models.add_activity(
                self._store,
                conversation,
                f"{agent.name} self-assigned this conversation"
                if wanted is not None
                else f"Conversation unassigned by {agent.name}",
            )
            self._events.conversation(
                "conversation_updated",
                conversation,
                [
                    {"assignee_id": {"previous_value": previous, "current_value": wanted}},
                    updated_at_change(before, conversation.updated_at),
                ],
            )
        if wanted is None:
            return 200, None
        return 200, agent_rest(agent, call.account.id)

    # --- messages ----------------------------------------------------------------------------

    def messages_index(self, call: Call) -> tuple[int, Any]:
        store = self._store
        conversation = self._conversation_of(call)
        messages = store.messages_of(conversation)
        before, after = as_int(call.params.get("before")), as_int(call.params.get("after"))
        if before is not None:
            messages = [m for m in messages if m.id < before][-MESSAGES_PAGE:]
        elif after is not None:
            messages = [m for m in messages if m.id > after][:100]
        else:
            messages = messages[-MESSAGES_PAGE:]
        meta: dict[str, Any] = {
            "labels": list(conversation.labels),
            "additional_attributes": dict(conversation.additional_attributes),
            "contact": contact_push(store.contacts[conversation.contact_id]),
        }
        if conversation.assignee_id == store.agent.id:
            meta["assignee"] = user_push(store.agent)
        meta["agent_last_seen_at"] = iso(conversation.agent_last_seen_at)
        meta["assignee_last_seen_at"] = iso(conversation.assignee_last_seen_at)
        return 200, {"meta": meta, "payload": [message_rest(store, m) for m in messages]}

    def messages_create(self, call: Call) -> tuple[int, Any]:
        conversation = self._conversation_of(call)
        inbox = self._store.inboxes[conversation.inbox_id]
        try:
            message_type, content_type = models.check_message_params(inbox, call.params)
        except ValueError as exc:  # MessagesController#create rescues StandardError
            raise unprocessable(str(exc)) from None
        content = text_or_none(call.params.get("content"))
        try:
            files = models.check_files(call.params.get("attachments"))
        except ValueError as exc:
            raise unprocessable(str(exc)) from None
        if message_type == "incoming" and conversation.status == "resolved":
            self._events.change_status(conversation, "open", None, by_system=True)
        message = models.add_message(
            self._store,
            conversation,
            content=content,
            message_type=message_type,
            content_type=content_type,
            private=truthy(call.params.get("private")),
            content_attributes=as_dict(call.params.get("content_attributes")),
            from_bot=call.as_bot,
            files=files,
        )
        self._events.message("message_created", message)
        return 200, message_rest(self._store, message)
