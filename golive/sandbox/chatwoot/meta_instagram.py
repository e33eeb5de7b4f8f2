"""Instagram events from Meta, as Chatwoot's `Webhooks::InstagramEventsJob` handles them for an
Instagram-login channel (`Instagram::MessageText`, `Messages::Instagram::MessageBuilder`,
`Instagram::ReadStatusService`). Runs under the store's lock.

* The channel is the inbox whose `instagram_id` is the recipient (the sender, for an echo);
  no such inbox: the event is ignored. A `changes` entry is Meta's dashboard test event.
* A contact's first message: Chatwoot fetches the profile from Meta's Graph API. The sandbox
  has no Meta, so the fetch fails; newer code then names the contact "Unknown (IG: <igsid>)",
  older builds make no contact and the message is dropped (`Build`).
* The message: none if one with the same `mid` exists anywhere (Meta sends duplicates); in the
  contact's newest conversation that is not resolved, else a new one; incoming from the
  contact, or — an echo, what the business sent from Instagram itself — outgoing without a
  sender. `source_id` is the `mid`.
* `is_deleted`: the message with that `mid` in the inbox loses its files and reads "This
  message was deleted" (`message_updated`).
* `read`: every outgoing message of that conversation up to the one read becomes `read`
  (`Conversations::UpdateMessageStatusJob`, one `message_updated` each).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from golive.sandbox.chatwoot import models
from golive.sandbox.chatwoot.events import Events
from golive.sandbox.chatwoot.state import ContactInbox, Conversation, Inbox, Store
from golive.sandbox.chatwoot.wire import CHANNEL_INSTAGRAM, Build, now

UNKNOWN_CONTACT = "Unknown (IG: {})"
DELETED_CONTENT = "This message was deleted"  # I18n conversations.messages.deleted
# a fault: conversations opened from a Meta event get the channel's previous contact inbox
OLD_CONTACT_INBOX_FAULT = "meta-event-old-contact-inbox"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _id(value: Any) -> str | None:
    found = _dict(value).get("id")
    return str(found) if isinstance(found, str | int) and not isinstance(found, bool) else None


class InstagramEvents:
    def __init__(self, store: Store, events: Events, build: Build, fault_on: Callable[[str], bool]) -> None:
        self._store = store
        self._events = events
        self._build = build
        self._fault_on = fault_on

    def process(self, entries: Any) -> None:
        for entry in entries if isinstance(entries, list) else []:
            entry = _dict(entry)
            if entry.get("changes"):
                continue  # Instagram::TestEventService: a dashboard test, nothing is stored
            messagings = entry.get("messaging") or entry.get("standby") or []
            for messaging in messagings if isinstance(messagings, list) else []:
                self._one(_dict(messaging))

    def _one(self, messaging: dict[str, Any]) -> None:
        message = _dict(messaging.get("message"))
        echo = bool(message.get("is_echo"))
        inbox = self._channel(_id(messaging.get("sender")) if echo else _id(messaging.get("recipient")))
        if inbox is None:
            return
        if "message" in messaging:
            contact_id = _id(messaging.get("recipient")) if echo else _id(messaging.get("sender"))
            if contact_id is None:
                return
            if message.get("is_deleted"):
                self._unsend(inbox, message)
                return
            self._message(inbox, contact_id, message, echo)
        elif "read" in messaging:
            self._read(inbox, _dict(messaging.get("read")))

    def _channel(self, instagram_id: str | None) -> Inbox | None:
        if instagram_id is None:
            return None
        return next(
            (
                i
                for i in self._store.inboxes.values()
                if i.channel_type == CHANNEL_INSTAGRAM and i.instagram_id == instagram_id
            ),
            None,
        )

    # --- a message ----------------------------------------------------------------------------

    def _message(self, inbox: Inbox, contact_id: str, message: dict[str, Any], echo: bool) -> None:
        contact_inbox = self._contact_inbox(inbox, contact_id)
        if contact_inbox is None:
            return  # no profile, no contact: `create_message` returns without a contact inbox
        mid = message.get("mid")
        if not isinstance(mid, str) or models.message_by_source_id(self._store, mid) is not None:
            return  # duplicate webhook events for one message (and echoes of Chatwoot's own)
        conversation, new = self._conversation(inbox, contact_inbox)
        text = message.get("text")
        reply_to = _dict(message.get("reply_to")).get("mid")
        created = models.add_message(
            self._store,
            conversation,
            content=text if isinstance(text, str) else None,
            message_type="outgoing" if echo else "incoming",
            content_attributes={"in_reply_to_external_id": reply_to if isinstance(reply_to, str) else None},
            source_id=mid,
            without_sender=echo,
        )
        if new and not self._store.message_first:
            self._events.conversation("conversation_created", conversation)
        self._events.message("message_created", created)
        if new and self._store.message_first:  # webhook jobs run in any order
            self._events.conversation("conversation_created", conversation)

    def _contact_inbox(self, inbox: Inbox, igsid: str) -> ContactInbox | None:
        """The contact's link in this inbox, or — a first message — one made from the profile
        Meta would give (none in the sandbox: see `Build.keeps_first_dm_without_profile`)."""
        known = [
            ci
            for ci in self._store.contact_inboxes.values()
            if ci.inbox_id == inbox.id and ci.source_id == igsid
        ]
        if known:
            return known[-1]
        if not self._build.keeps_first_dm_without_profile:
            return None
        link, contact = models.contact_inbox_with_contact(
            self._store, inbox, igsid, name=UNKNOWN_CONTACT.format(igsid)
        )
        if contact is not None:
            self._events.contact_created(contact)
        return link

    def _conversation(self, inbox: Inbox, contact_inbox: ContactInbox) -> tuple[Conversation, bool]:
        """The contact's newest conversation in the inbox that is not resolved, or a new one."""
        store = self._store
        mine = [
            c
            for c in store.conversations.values()
            if c.inbox_id == inbox.id and c.contact_id == contact_inbox.contact_id and c.status != "resolved"
        ]
        if mine:
            return max(mine, key=lambda c: (c.created_at, c.display_id)), False
        link = contact_inbox
        if self._fault_on(OLD_CONTACT_INBOX_FAULT):
            older = [
                ci for ci in store.contact_inboxes.values() if ci.inbox_id == inbox.id and ci.id < link.id
            ]
            link = older[-1] if older else link
        conversation = models.open_conversation(store, inbox, link)
        conversation.contact_id = contact_inbox.contact_id
        return conversation, True

    # --- unsent and read ----------------------------------------------------------------------

    def _unsend(self, inbox: Inbox, message: dict[str, Any]) -> None:
        mid = message.get("mid")
        target = models.message_by_source_id(self._store, mid if isinstance(mid, str) else None, inbox)
        if target is None:
            return
        target.attachments = []
        target.content = DELETED_CONTENT
        target.content_attributes["deleted"] = True
        target.updated_at = now()
        self._events.message("message_updated", target)

    def _read(self, inbox: Inbox, read: dict[str, Any]) -> None:
        mid = read.get("mid")
        seen = models.message_by_source_id(self._store, mid if isinstance(mid, str) else None, inbox)
        if seen is None:
            return
        conversation = self._store.conversations[seen.conversation]
        for message in self._store.messages_of(conversation):
            if (
                message.message_type != "incoming"
                and message.status in ("sent", "delivered")
                and message.created_at <= seen.created_at
            ):
                message.status = "read"
                message.updated_at = now()
                self._events.message("message_updated", message)
