"""The Application API's JSON views (Chatwoot's jbuilder templates) over the double's records."""

from __future__ import annotations

from typing import Any

from golive.sandbox.chatwoot.payloads import message_push, sender_push
from golive.sandbox.chatwoot.state import Contact, Conversation, Inbox, Message, Store, User, Webhook
from golive.sandbox.chatwoot.wire import CHANNEL_API, CHANNEL_WHATSAPP, MESSAGE_TYPES, epoch, iso


def inbox_rest(inbox: Inbox) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": inbox.id,
        "avatar_url": "",
        "channel_id": inbox.channel_id,
        "name": inbox.name,
        "channel_type": inbox.channel_type,
        "greeting_enabled": False,
        "greeting_message": None,
        "working_hours_enabled": False,
        "enable_email_collect": True,
        "csat_survey_enabled": False,
        "enable_auto_assignment": True,
        "auto_assignment_config": {},
        "out_of_office_message": None,
        "working_hours": [],
        "timezone": "UTC",
        "callback_webhook_url": None,
        "allow_messages_after_resolved": True,
        "lock_to_single_conversation": False,
        "sender_name_type": "friendly",
        "business_name": None,
        "provider": "whatsapp_cloud" if inbox.channel_type == CHANNEL_WHATSAPP else None,
    }
    if inbox.channel_type == CHANNEL_API:  # admins see the secrets (the token is an admin's)
        data["hmac_token"] = inbox.hmac_token
        data["secret"] = inbox.secret
        data["webhook_url"] = inbox.webhook_url
        data["inbox_identifier"] = inbox.identifier
        data["additional_attributes"] = {}
    return data


def inbox_slim(inbox: Inbox) -> dict[str, Any]:
    return {
        "id": inbox.id,
        "name": inbox.name,
        "channel_type": inbox.channel_type,
        "channel_id": inbox.channel_id,
        "avatar_url": "",
        "provider": "whatsapp_cloud" if inbox.channel_type == CHANNEL_WHATSAPP else None,
    }


def inbox_model(inbox: Inbox) -> dict[str, Any]:
    """`json.inbox @contact_inbox.inbox`: the model's own `as_json` (columns)."""
    return {
        "id": inbox.id,
        "channel_id": inbox.channel_id,
        "account_id": inbox.account_id,
        "name": inbox.name,
        "created_at": iso(inbox.created_at),
        "updated_at": iso(inbox.created_at),
        "channel_type": inbox.channel_type,
        "enable_auto_assignment": True,
        "greeting_enabled": False,
        "greeting_message": None,
        "email_address": None,
        "working_hours_enabled": False,
        "out_of_office_message": None,
        "timezone": "UTC",
        "enable_email_collect": True,
        "csat_survey_enabled": False,
        "allow_messages_after_resolved": True,
        "lock_to_single_conversation": False,
        "sender_name_type": "friendly",
        "business_name": None,
    }


def contact_rest(store: Store, contact: Contact, *, with_inboxes: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "additional_attributes": dict(contact.additional_attributes),
        "availability_status": "offline",
        "email": contact.email,
        "id": contact.id,
        "name": contact.name,
        "phone_number": contact.phone_number,
        "blocked": contact.blocked,
        "identifier": contact.identifier,
        "thumbnail": "",
        "custom_attributes": dict(contact.custom_attributes),
        "last_activity_at": epoch(contact.last_activity_at) or None,
        "created_at": epoch(contact.created_at),
    }
    if with_inboxes:
        data["contact_inboxes"] = [
            {"source_id": ci.source_id, "inbox": inbox_slim(store.inboxes[ci.inbox_id])}
            for ci in store.contact_inboxes.values()
            if ci.contact_id == contact.id
        ]
    return data


def message_rest(store: Store, message: Message) -> dict[str, Any]:
    conversation = store.conversations[message.conversation]
    data: dict[str, Any] = {
        "id": message.id,
        "content": message.content,
        "inbox_id": message.inbox_id,
        "conversation_id": conversation.display_id,
        "message_type": MESSAGE_TYPES[message.message_type],
        "content_type": message.content_type,
        "status": message.status,
        "content_attributes": dict(message.content_attributes),
        "created_at": epoch(message.created_at),
        "private": message.private,
        "source_id": message.source_id,
    }
    sender = sender_push(store, message)
    if sender is not None:
        data["sender"] = sender
    return data


def agent_rest(user: User, account_id: int) -> dict[str, Any]:
    return {
        "id": user.id,
        "account_id": account_id,
        "availability_status": "online",
        "auto_offline": True,
        "confirmed": True,
        "email": user.email,
        "available_name": user.name,
        "name": user.name,
        "role": "administrator",
        "thumbnail": "",
    }


def conversation_rest(store: Store, conversation: Conversation) -> dict[str, Any]:
    """`api/v1/conversations/partials/_conversation`."""
    inbox = store.inboxes[conversation.inbox_id]
    contact = store.contacts[conversation.contact_id]
    contact_inbox = store.contact_inboxes[conversation.contact_inbox_id]
    meta: dict[str, Any] = {
        "sender": contact_rest(store, contact, with_inboxes=False),
        "channel": inbox.channel_type,
    }
    if conversation.assignee_id == store.agent.id:
        meta["assignee"] = agent_rest(store.agent, conversation.account_id)
    meta["hmac_verified"] = contact_inbox.hmac_verified
    messages = store.messages_of(conversation)
    unread = store.unread_incoming(conversation)
    if not messages:
        shown: list[Message] = []
    elif not unread:
        shown = [messages[-1]]
    else:
        seen = conversation.agent_last_seen_at
        shown = [m for m in messages if seen is None or m.created_at > seen][-10:]
    return {
        "meta": meta,
        "id": conversation.display_id,
        "messages": [message_push(store, m) for m in shown],
        "account_id": conversation.account_id,
        "uuid": conversation.uuid,
        "additional_attributes": dict(conversation.additional_attributes),
        "agent_last_seen_at": epoch(conversation.agent_last_seen_at),
        "assignee_last_seen_at": epoch(conversation.assignee_last_seen_at),
        "can_reply": store.can_reply(conversation, inbox),
        "contact_last_seen_at": epoch(conversation.contact_last_seen_at),
        "custom_attributes": dict(conversation.custom_attributes),
        "inbox_id": conversation.inbox_id,
        "labels": list(conversation.labels),
        "muted": False,
        "snoozed_until": iso(conversation.snoozed_until),
        "status": conversation.status,
        "created_at": epoch(conversation.created_at),
        "updated_at": round(conversation.updated_at.timestamp(), 6),
        "timestamp": epoch(conversation.last_activity_at),
        "first_reply_created_at": epoch(conversation.first_reply_created_at),
        "unread_count": len(unread),
        "last_activity_at": epoch(conversation.last_activity_at),
        "priority": conversation.priority,
        "waiting_since": epoch(conversation.waiting_since),
        "sla_policy_id": None,
    }


def webhook_rest(store: Store, hook: Webhook) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": hook.id,
        "name": hook.name,
        "url": hook.url,
        "account_id": hook.account_id,
        "subscriptions": list(hook.subscriptions),
        "secret": hook.secret,
    }
    if hook.inbox_id is not None and hook.inbox_id in store.inboxes:
        inbox = store.inboxes[hook.inbox_id]
        data["inbox"] = {"id": inbox.id, "name": inbox.name}
    return data
