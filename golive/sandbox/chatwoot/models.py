"""Chatwoot's model validations and builders over the store: contacts, contact inboxes and
messages (with their side effects on the conversation). They dispatch nothing; all run under
the store's lock."""

from __future__ import annotations

import re
import uuid
from typing import Any

from golive.sandbox.chatwoot.calls import record_invalid, server_error, unprocessable
from golive.sandbox.chatwoot.state import (
    Account,
    Contact,
    ContactInbox,
    Conversation,
    Inbox,
    Message,
    Store,
)
from golive.sandbox.chatwoot.wire import (
    CHANNEL_API,
    CHANNEL_WHATSAPP,
    MESSAGE_TYPES,
    as_dict,
    as_int,
    now,
    secure_token,
    text_or_none,
    truthy,
)

INCOMING_ONLY_API = "Incoming messages are only allowed in Api inboxes"
CONTENT_TYPES = (
    "text",
    "input_text",
    "input_textarea",
    "input_email",
    "input_select",
    "cards",
    "form",
    "article",
    "incoming_email",
    "input_csat",
    "integrations",
    "sticker",
)
_E164_TAIL = re.compile(r"\+[1-9]\d{1,14}\Z")  # Chatwoot's regex has no start anchor
_EMAIL = re.compile(r"\A[^@\s]+@[^@\s]+\Z")  # Devise.email_regexp


def new_contact(store: Store, account: Account, params: dict[str, Any]) -> Contact:
    email = text_or_none(params.get("email"))
    email = email.strip().lower() if email else None
    phone = text_or_none(params.get("phone_number"))
    identifier = text_or_none(params.get("identifier"))
    errors: list[tuple[str, str]] = []
    same_account = [c for c in store.contacts.values() if c.account_id == account.id]
    if email is not None:
        if not _EMAIL.match(email):
            errors.append(("Email", "Invalid email"))
        elif any(c.email == email for c in same_account):
            errors.append(("Email", "has already been taken"))
    if phone is not None:
        if not _E164_TAIL.search(phone):
            errors.append(("Phone number", "should be in e164 format"))
        elif any(c.phone_number == phone for c in same_account):
            errors.append(("Phone number", "has already been taken"))
    if identifier is not None and any(c.identifier == identifier for c in same_account):
        errors.append(("Identifier", "has already been taken"))
    if errors:
        raise record_invalid(errors)
    return Contact(
        next(store.contact_ids),
        account.id,
        text_or_none(params.get("name")) or "",
        email,
        phone,
        identifier,
        as_dict(params.get("additional_attributes")),
        as_dict(params.get("custom_attributes")),
        truthy(params.get("blocked")),
        now(),
    )


def source_id_for(inbox: Inbox, contact: Contact, given: Any) -> str:
    """`ContactInboxBuilder#generate_source_id` when the caller gave none."""
    source_id = text_or_none(given)
    if source_id is not None:
        return source_id
    if inbox.channel_type == CHANNEL_API:
        return str(uuid.uuid4())
    if inbox.channel_type == CHANNEL_WHATSAPP:
        if not contact.phone_number:
            raise unprocessable("param is missing or the value is empty: contact phone number")
        return contact.phone_number.replace("+", "")
    raise server_error()  # "Unsupported operation for this channel: Channel::Instagram"


def find_or_create_contact_inbox(
    store: Store, contact: Contact, inbox: Inbox, source_id: str
) -> tuple[ContactInbox, bool]:
    """The existing record, or a new one (not stored yet) and True."""
    for existing in store.contact_inboxes.values():
        if existing.inbox_id == inbox.id and existing.source_id == source_id:
            if existing.contact_id == contact.id:
                return existing, False
            raise record_invalid([("Source", "has already been taken")])
    record = ContactInbox(
        next(store.contact_inbox_ids), contact.id, inbox.id, source_id, now(), secure_token()
    )
    return record, True


def check_message_params(inbox: Inbox, params: dict[str, Any]) -> tuple[str, str]:
    """`Messages::MessageBuilder` validation; raises ValueError with Chatwoot's message."""
    message_type = text_or_none(params.get("message_type")) or "outgoing"
    if message_type not in MESSAGE_TYPES:
        raise ValueError(f"'{message_type}' is not a valid message_type")
    if inbox.channel_type != CHANNEL_API and message_type == "incoming":
        raise ValueError(INCOMING_ONLY_API)
    content_type = text_or_none(params.get("content_type")) or "text"
    if content_type not in CONTENT_TYPES:
        raise ValueError(f"'{content_type}' is not a valid content_type")
    return message_type, content_type


def add_message(
    store: Store,
    conversation: Conversation,
    *,
    content: str | None,
    message_type: str,
    content_type: str = "text",
    private: bool = False,
    content_attributes: dict[str, Any] | None = None,
    from_agent: bool = True,
    from_bot: bool = False,
    files: list[dict[str, Any]] | None = None,
    source_id: str | None = None,
    without_sender: bool = False,
) -> Message:
    """Create a message and its side effects; dispatches nothing. `without_sender`: an
    outgoing message nobody in Chatwoot wrote (a channel's echo of what the business sent)."""
    moment = now()
    sender_type: str | None
    sender_id: int | None
    if without_sender:
        sender_type, sender_id = None, None
    elif message_type == "outgoing" and from_bot:
        sender_type, sender_id = "AgentBot", store.bot.id
    elif message_type == "outgoing" and from_agent:
        sender_type, sender_id = "User", store.agent.id
    elif message_type == "activity":
        sender_type, sender_id = None, None
    else:
        sender_type, sender_id = "Contact", conversation.contact_id
    message = Message(
        next(store.message_ids),
        conversation.account_id,
        conversation.inbox_id,
        (conversation.account_id, conversation.display_id),
        content,
        message_type,
        content_type,
        dict(content_attributes or {}),
        {},
        private,
        "sent",
        source_id,
        sender_type,
        sender_id,
        moment,
        moment,
    )
    message.attachments = [_attachment(store, message, f) for f in files or []]
    store.messages[message.id] = message
    conversation.message_ids.append(message.id)
    conversation.updated_at = moment  # belongs_to :conversation, touch: true
    if message_type != "activity":
        conversation.last_activity_at = moment
    if message_type == "incoming":
        store.contacts[conversation.contact_id].last_activity_at = moment
        if conversation.waiting_since is None:
            conversation.waiting_since = moment
    if message_type == "outgoing" and not private and sender_type == "User":
        if conversation.first_reply_created_at is None:
            conversation.first_reply_created_at = moment
        conversation.waiting_since = None
    return message


FILE_TYPES = ("image", "audio", "video", "file", "location", "fallback", "share", "story_mention")


def check_files(raw: Any) -> list[dict[str, Any]]:
    """The double's stand-in for a multipart upload: `attachments` as a JSON list of
    `{file_type, file_name, file_size?, width?, height?}`; ValueError with Chatwoot's wording."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(f, dict) for f in raw):
        raise ValueError("attachments must be a list of files")
    for f in raw:
        if f.get("file_type") not in FILE_TYPES:
            raise ValueError(f"'{f.get('file_type')}' is not a valid file_type")
        if not isinstance(f.get("file_name"), str) or not f["file_name"].strip():
            raise ValueError("an attachment needs a file_name")
    return raw


def _attachment(store: Store, message: Message, upload: dict[str, Any]) -> dict[str, Any]:
    """`Attachment#push_event_data`: images carry their size in pixels, audio does not."""
    attachment_id = next(store.attachment_ids)
    name = str(upload["file_name"])
    url = f"https://chatwoot.sandbox.invalid/rails/active_storage/blobs/{attachment_id}/{name}"
    data: dict[str, Any] = {
        "id": attachment_id,
        "message_id": message.id,
        "file_type": upload["file_type"],
        "account_id": message.account_id,
        "extension": name.rsplit(".", 1)[-1] if "." in name else None,
        "data_url": url,
        "thumb_url": url if upload["file_type"] == "image" else "",
        "file_size": as_int(upload.get("file_size")) or 0,
    }
    if upload["file_type"] in ("image", "video"):
        data["width"] = as_int(upload.get("width"))
        data["height"] = as_int(upload.get("height"))
    return data


def add_activity(store: Store, conversation: Conversation, content: str) -> None:
    add_message(store, conversation, content=content, message_type="activity")


# --- what a channel (Meta's webhooks) builds -----------------------------------------------------


def contact_inbox_with_contact(
    store: Store, inbox: Inbox, source_id: str, *, name: str, phone_number: str | None = None
) -> tuple[ContactInbox, Contact | None]:
    """`ContactInboxWithContactBuilder`: the inbox's link with this source_id, or a link to the
    account's contact with this phone, or a new contact and link. The second value is the
    contact when it is new (for `contact_created`)."""
    for link in store.contact_inboxes.values():
        if link.inbox_id == inbox.id and link.source_id == source_id:
            return link, None
    contact = next(
        (
            c
            for c in store.contacts.values()
            if c.account_id == inbox.account_id and phone_number and c.phone_number == phone_number
        ),
        None,
    )
    created: Contact | None = None
    if contact is None:
        phone = phone_number if phone_number and _E164_TAIL.search(phone_number) else None
        contact = Contact(
            next(store.contact_ids), inbox.account_id, name, None, phone, None, {}, {}, False, now()
        )
        store.contacts[contact.id] = contact
        created = contact
    link = ContactInbox(next(store.contact_inbox_ids), contact.id, inbox.id, source_id, now(), secure_token())
    store.contact_inboxes[link.id] = link
    return link, created


def open_conversation(store: Store, inbox: Inbox, contact_inbox: ContactInbox) -> Conversation:
    """`Conversation.create!` for a channel's message: open, the next display id, assigned
    before it is announced when the inbox auto-assigns. Dispatches nothing."""
    account = store.accounts[inbox.account_id]
    moment = now()
    conversation = Conversation(
        account.id,
        account.next_display_id,
        inbox.id,
        contact_inbox.contact_id,
        contact_inbox.id,
        "open",
        str(uuid.uuid4()),
        moment,
        moment,
        moment,
        moment,
        {},
        {},
    )
    if inbox.auto_assign:
        conversation.assignee_id = store.agent.id
    account.next_display_id += 1
    store.conversations[(account.id, conversation.display_id)] = conversation
    return conversation


def message_by_source_id(store: Store, source_id: str | None, inbox: Inbox | None = None) -> Message | None:
    """`Message.find_by(source_id:)` — across the installation, or in one inbox."""
    if not source_id:
        return None
    return next(
        (
            m
            for m in store.messages.values()
            if m.source_id == source_id and (inbox is None or m.inbox_id == inbox.id)
        ),
        None,
    )
