"""The webhook payloads the Chatwoot double emits (chatwoot-wire-format.md §4), built from its
own records: push data (`Conversations::EventDataPresenter`) and `Message#webhook_data`."""

from __future__ import annotations

from typing import Any

from golive.sandbox.chatwoot.state import Contact, ContactInbox, Conversation, Message, Store, User
from golive.sandbox.chatwoot.wire import MESSAGE_TYPES, epoch, iso


def account_ref(store: Store, account_id: int) -> dict[str, Any]:
    account = store.accounts[account_id]
    return {"id": account.id, "name": account.name}


def _contact_fields(contact: Contact) -> dict[str, Any]:
    return {
        "additional_attributes": dict(contact.additional_attributes),
        "custom_attributes": dict(contact.custom_attributes),
        "email": contact.email,
        "id": contact.id,
        "identifier": contact.identifier,
        "name": contact.name,
        "phone_number": contact.phone_number,
        "thumbnail": "",
        "blocked": contact.blocked,
    }


def contact_push(contact: Contact) -> dict[str, Any]:
    """The contact inside a conversation (`meta.sender`): push data, typed."""
    return {**_contact_fields(contact), "type": "contact"}


def contact_webhook(store: Store, contact: Contact) -> dict[str, Any]:
    """The sender of a message event: webhook data, with the account and no type."""
    return {
        "account": account_ref(store, contact.account_id),
        **_contact_fields(contact),
        "avatar": "",
    }


def user_push(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "available_name": user.name,
        "avatar_url": "",
        "type": "user",
        "availability_status": "online",
        "thumbnail": "",
    }


def _contact_inbox_record(contact_inbox: ContactInbox) -> dict[str, Any]:
    return {
        "id": contact_inbox.id,
        "contact_id": contact_inbox.contact_id,
        "inbox_id": contact_inbox.inbox_id,
        "source_id": contact_inbox.source_id,
        "created_at": iso(contact_inbox.created_at),
        "updated_at": iso(contact_inbox.created_at),
        "hmac_verified": contact_inbox.hmac_verified,
        "pubsub_token": contact_inbox.pubsub_token,
    }


def bot_push(store: Store) -> dict[str, Any]:
    """`AgentBot#push_event_data`."""
    return {"id": store.bot.id, "name": store.bot.name, "avatar_url": "", "type": "agent_bot"}


def sender_push(store: Store, message: Message) -> dict[str, Any] | None:
    if message.sender_type == "Contact" and message.sender_id in store.contacts:
        return contact_push(store.contacts[message.sender_id])
    if message.sender_type == "User":
        return user_push(store.agent)
    if message.sender_type == "AgentBot":
        return bot_push(store)
    return None


def message_push(store: Store, message: Message) -> dict[str, Any]:
    """The message inside a conversation payload's `messages[]` (int type, epoch time)."""
    conversation = store.conversations[message.conversation]
    contact_inbox = store.contact_inboxes[conversation.contact_inbox_id]
    data: dict[str, Any] = {
        "id": message.id,
        "content": message.content,
        "account_id": message.account_id,
        "inbox_id": message.inbox_id,
        "conversation_id": conversation.display_id,
        "message_type": MESSAGE_TYPES[message.message_type],
        "created_at": epoch(message.created_at),
        "updated_at": iso(message.updated_at),
        "private": message.private,
        "status": message.status,
        "source_id": message.source_id,
        "content_type": message.content_type,
        "content_attributes": dict(message.content_attributes),
        "sender_type": message.sender_type,
        "sender_id": message.sender_id,
        "external_source_ids": {},
        "additional_attributes": dict(message.additional_attributes),
        "processed_message_content": message.content,
        "sentiment": {},
        "conversation": {
            "assignee_id": conversation.assignee_id,
            "unread_count": len(store.unread_incoming(conversation)),
            "last_activity_at": epoch(conversation.last_activity_at),
            "contact_inbox": {"source_id": contact_inbox.source_id},
        },
    }
    if message.attachments:
        data["attachments"] = [dict(a) for a in message.attachments]
    sender = sender_push(store, message)
    if sender is not None:
        data["sender"] = sender
    return data


def conversation_data(store: Store, conversation: Conversation) -> dict[str, Any]:
    """`Conversations::EventDataPresenter#push_data` (+ `account`, on the builds that send it)."""
    inbox = store.inboxes[conversation.inbox_id]
    contact = store.contacts[conversation.contact_id]
    contact_inbox = store.contact_inboxes[conversation.contact_inbox_id]
    last = store.last_chat_message(conversation)
    assignee = store.agent if conversation.assignee_id == store.agent.id else None
    return {
        "additional_attributes": dict(conversation.additional_attributes),
        "can_reply": store.can_reply(conversation, inbox),
        "channel": inbox.channel_type,
        "contact_inbox": _contact_inbox_record(contact_inbox),
        "id": conversation.display_id,
        "inbox_id": conversation.inbox_id,
        "messages": [message_push(store, last)] if last is not None else [],
        "labels": list(conversation.labels),
        "meta": {
            "sender": contact_push(contact),
            "assignee": user_push(assignee) if assignee else None,
            "assignee_type": "User" if assignee else None,
            "team": None,
            "hmac_verified": contact_inbox.hmac_verified,
        },
        "status": conversation.status,
        "custom_attributes": dict(conversation.custom_attributes),
        "snoozed_until": iso(conversation.snoozed_until),
        "unread_count": len(store.unread_incoming(conversation)),
        "first_reply_created_at": iso(conversation.first_reply_created_at),
        "priority": conversation.priority,
        "waiting_since": epoch(conversation.waiting_since),
        "agent_last_seen_at": epoch(conversation.agent_last_seen_at),
        "contact_last_seen_at": epoch(conversation.contact_last_seen_at),
        "last_activity_at": epoch(conversation.last_activity_at),
        "timestamp": epoch(conversation.last_activity_at),
        "created_at": epoch(conversation.created_at),
        "updated_at": round(conversation.updated_at.timestamp(), 6),
    } | (
        {"account": account_ref(store, conversation.account_id)}
        if store.build.account_in_conversation_events
        else {}
    )


def message_webhook(store: Store, message: Message) -> dict[str, Any]:
    """`Message#webhook_data`: string type, ISO time, account, inbox, full conversation."""
    conversation = store.conversations[message.conversation]
    inbox = store.inboxes[message.inbox_id]
    sender: dict[str, Any] | None = None
    if message.sender_type == "Contact" and message.sender_id in store.contacts:
        sender = contact_webhook(store, store.contacts[message.sender_id])
    elif message.sender_type == "User":
        sender = {
            "id": store.agent.id,
            "name": store.agent.name,
            "email": store.agent.email,
            "type": "user",
        }
    elif message.sender_type == "AgentBot":  # `AgentBot#webhook_data`
        sender = {"id": store.bot.id, "name": store.bot.name, "type": "agent_bot"}
    data: dict[str, Any] = {
        "id": message.id,
        "content": message.content,
        "content_type": message.content_type,
        "content_attributes": dict(message.content_attributes),
        "additional_attributes": dict(message.additional_attributes),
        "message_type": message.message_type,
        "private": message.private,
        "source_id": message.source_id,
        "created_at": iso(message.created_at),
        "account": account_ref(store, message.account_id),
        "inbox": {"id": inbox.id, "name": inbox.name},
        "sender": sender,
        "conversation": conversation_data(store, conversation),
    }
    if message.attachments:  # only present when the message has files
        data["attachments"] = [dict(a) for a in message.attachments]
    return data
