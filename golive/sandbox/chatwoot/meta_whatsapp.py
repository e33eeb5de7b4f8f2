"""WhatsApp Cloud API events from Meta, as Chatwoot's `Webhooks::WhatsappEventsJob` and
`Whatsapp::IncomingMessageWhatsappCloudService` handle them. Runs under the store's lock.

* The channel: for a `whatsapp_business_account` payload, the WhatsApp inbox whose number is
  `+<metadata.display_phone_number>` *and* whose phone number id is `metadata.phone_number_id`;
  otherwise the inbox whose number is the URL's. None: the event is ignored.
* `statuses`: the message with that `wamid` takes the new status (`failed` records Meta's
  error as `external_error`), one `message_updated`; a status never goes back (read stays read).
* `messages`: reactions, ephemeral and unsupported messages are skipped; a `wamid` Chatwoot
  already holds is a duplicate and creates nothing. The contact: the inbox's link with the
  wa_id (for Brazil, the 13-digit form an earlier message made, if any), else the account's
  contact with phone `+<from>`, else a new contact named as the profile says. The message goes
  to the link's newest conversation that is not resolved, else a new one. Media cannot be
  downloaded (the sandbox has no Meta): a media message keeps its caption only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from golive.sandbox.chatwoot import models
from golive.sandbox.chatwoot.events import Events
from golive.sandbox.chatwoot.meta_instagram import OLD_CONTACT_INBOX_FAULT
from golive.sandbox.chatwoot.state import ContactInbox, Conversation, Inbox, Store
from golive.sandbox.chatwoot.wire import CHANNEL_WHATSAPP, now

SKIPPED_TYPES = ("reaction", "ephemeral", "unsupported")
_STATUS_ORDER = {"sent": 0, "delivered": 1, "read": 2}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _first(value: Any) -> dict[str, Any]:
    return _dict(value[0]) if isinstance(value, list) and value else {}


def normalised_brazil_mobile(wa_id: str) -> str:
    """A Brazilian wa_id in the 13-digit mobile form (with the 9 after the area code)."""
    area, number = wa_id[2:4], wa_id[4:]
    normalised = f"55{area}{number}"
    return normalised if len(normalised) == 13 else f"55{area}9{number}"


class WhatsappEvents:
    def __init__(self, store: Store, events: Events, fault_on: Callable[[str], bool]) -> None:
        self._store = store
        self._events = events
        self._fault_on = fault_on

    def process(self, params: dict[str, Any], phone_number: str) -> None:
        inbox = self._channel(params, phone_number)
        if inbox is None:
            return  # "Inactive WhatsApp channel": logged, nothing else
        value = _dict(_first(_first(params.get("entry")).get("changes")).get("value"))
        if value.get("statuses"):
            self._status(_first(value.get("statuses")))
        elif value.get("messages"):
            self._message(inbox, value)

    def _channel(self, params: dict[str, Any], phone_number: str) -> Inbox | None:
        whatsapp = [i for i in self._store.inboxes.values() if i.channel_type == CHANNEL_WHATSAPP]
        if params.get("object") == "whatsapp_business_account":
            metadata = _dict(
                _dict(_first(_first(params.get("entry")).get("changes")).get("value")).get("metadata")
            )
            number = f"+{metadata.get('display_phone_number')}"
            found = next((i for i in whatsapp if i.phone_number == number), None)
            if found is None or found.phone_number_id != metadata.get("phone_number_id"):
                return None
            return found
        return next((i for i in whatsapp if i.phone_number == phone_number), None)

    # --- receipts -----------------------------------------------------------------------------

    def _status(self, state: dict[str, Any]) -> None:
        wamid = state.get("id")
        message = models.message_by_source_id(self._store, wamid if isinstance(wamid, str) else None)
        status = state.get("status")
        if message is None or not isinstance(status, str):
            return
        if status == "failed":
            error = _first(state.get("errors"))
            if error:
                message.content_attributes["external_error"] = f"{error.get('code')}: {error.get('title')}"
        elif status not in _STATUS_ORDER or _STATUS_ORDER.get(message.status, -1) >= _STATUS_ORDER[status]:
            return  # an unknown status, or one that would go back
        message.status = status
        message.updated_at = now()
        self._events.message("message_updated", message)

    # --- a message ----------------------------------------------------------------------------

    def _message(self, inbox: Inbox, value: dict[str, Any]) -> None:
        message = _first(value.get("messages"))
        kind = message.get("type")
        wamid = message.get("id")
        if kind in SKIPPED_TYPES or not isinstance(wamid, str):
            return
        if models.message_by_source_id(self._store, wamid) is not None:
            return  # Meta delivered the same message again
        profile = _first(value.get("contacts"))
        wa_id = profile.get("wa_id")
        if not isinstance(wa_id, str) or not wa_id:
            return
        name = _dict(profile.get("profile")).get("name")
        sender = message.get("from")
        link, contact = models.contact_inbox_with_contact(
            self._store,
            inbox,
            self._waid(inbox, wa_id),
            name=name if isinstance(name, str) else "",
            phone_number=f"+{sender}" if isinstance(sender, str) and sender else None,
        )
        if contact is not None:
            self._events.contact_created(contact)
        conversation, new = self._conversation(inbox, link)
        reply_to = _dict(message.get("context")).get("id")
        created = models.add_message(
            self._store,
            conversation,
            content=_content(message),
            message_type="incoming",
            content_attributes={"in_reply_to_external_id": reply_to if isinstance(reply_to, str) else None},
            source_id=wamid,
        )
        if new and not self._store.message_first:
            self._events.conversation("conversation_created", conversation)
        self._events.message("message_created", created)
        if new and self._store.message_first:
            self._events.conversation("conversation_created", conversation)

    def _waid(self, inbox: Inbox, wa_id: str) -> str:
        """Brazil (issue #5840): Meta may drop the mobile 9; an existing 13-digit link wins."""
        if wa_id.startswith("55"):
            normalised = normalised_brazil_mobile(wa_id)
            for link in self._store.contact_inboxes.values():
                if link.inbox_id == inbox.id and link.source_id == normalised:
                    return link.source_id
        return wa_id

    def _conversation(self, inbox: Inbox, link: ContactInbox) -> tuple[Conversation, bool]:
        mine = [
            c
            for c in self._store.conversations.values()
            if c.contact_inbox_id == link.id and c.status != "resolved"
        ]
        if mine:
            return max(mine, key=lambda c: (c.created_at, c.display_id)), False
        used = link
        if self._fault_on(OLD_CONTACT_INBOX_FAULT):
            older = [
                ci
                for ci in self._store.contact_inboxes.values()
                if ci.inbox_id == inbox.id and ci.id < link.id
            ]
            used = older[-1] if older else link
        conversation = models.open_conversation(self._store, inbox, used)
        conversation.contact_id = link.contact_id
        return conversation, True


def _content(message: dict[str, Any]) -> str | None:
    """Text, a button's text, an interactive reply's title — or a media message's caption."""
    for path in (("text", "body"), ("button", "text"), ("interactive", "button_reply", "title")):
        found: Any = message
        for key in path:
            found = _dict(found).get(key)
        if isinstance(found, str):
            return found
    title = _dict(_dict(message.get("interactive")).get("list_reply")).get("title")
    if isinstance(title, str):
        return title
    kind = message.get("type")
    caption = _dict(message.get(kind)).get("caption") if isinstance(kind, str) else None
    return caption if isinstance(caption, str) else None
