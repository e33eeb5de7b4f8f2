"""The account's resources in the Application API: inboxes, webhooks, contacts and contact
inboxes. Each handler runs under the store's lock and answers (status, body)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from golive.sandbox.chatwoot import models
from golive.sandbox.chatwoot.calls import NO_BODY, Call, record_invalid, unprocessable
from golive.sandbox.chatwoot.events import Events
from golive.sandbox.chatwoot.state import Account, Contact, ContactInbox, Store, Webhook
from golive.sandbox.chatwoot.views import contact_rest, inbox_model, inbox_rest, inbox_slim, webhook_rest
from golive.sandbox.chatwoot.wire import (
    CHANNEL_API,
    WEBHOOK_EVENTS,
    as_int,
    blank,
    now,
    secure_token,
    text_or_none,
)

CONTACT_INBOX_ONLY_API = "Contact Inbox creation is only allowed in API inboxes"
CONTACTS_PAGE = 15


class AccountHandlers:
    def __init__(self, store: Store, events: Events) -> None:
        self._store = store
        self._events = events

    # --- inboxes -----------------------------------------------------------------------------

    def inboxes_index(self, call: Call) -> tuple[int, Any]:
        inboxes = [i for i in self._store.inboxes.values() if i.account_id == call.account.id]
        return 200, {"payload": [inbox_rest(i) for i in inboxes]}

    def inboxes_show(self, call: Call) -> tuple[int, Any]:
        return 200, inbox_rest(self._store.inbox_of(call.account, call.path["inbox_id"]))

    # --- webhooks ----------------------------------------------------------------------------

    @staticmethod
    def _webhook_params(params: dict[str, Any]) -> dict[str, Any]:
        wrapped = params.get("webhook")  # Rails wraps top-level JSON keys into `webhook`
        source = wrapped if isinstance(wrapped, dict) else params
        picked = {k: source[k] for k in ("url", "subscriptions", "name", "inbox_id") if k in source}
        if not picked:
            raise unprocessable("param is missing or the value is empty: webhook")
        return picked

    def _build_webhook(self, account: Account, current: Webhook | None, picked: dict[str, Any]) -> Webhook:
        """Apply the permitted params and run the model validations (422 on failure)."""
        url: Any = picked.get("url", current.url if current else None)
        subs: Any = picked.get("subscriptions", current.subscriptions if current else None)
        inbox_raw: Any = picked.get("inbox_id", current.inbox_id if current else None)
        name: Any = picked.get("name", current.name if current else "")
        webhooks = self._store.webhooks
        hook_id = current.id if current else max(webhooks, default=0) + 1
        errors: list[tuple[str, str]] = []
        if not isinstance(url, str) or not re.match(r"\Ahttps?://[^\s/?#]+\S*\Z", url):
            errors.append(("Url", "is invalid"))
        elif any(h.url == url and h.id != hook_id and h.account_id == account.id for h in webhooks.values()):
            errors.append(("Url", "has already been taken"))
        if (
            not isinstance(subs, list)
            or not subs
            or any(not isinstance(s, str) or s not in WEBHOOK_EVENTS for s in subs)
        ):
            errors.append(("Subscriptions", "Invalid events"))
        inbox_id = None if blank(inbox_raw) else as_int(inbox_raw)
        if not blank(inbox_raw):
            inbox = self._store.inboxes.get(inbox_id if inbox_id is not None else -1)
            if inbox is None or inbox.account_id != account.id:
                errors.append(("Inbox", "must exist"))
        if errors:
            raise record_invalid(errors)
        assert isinstance(url, str) and isinstance(subs, list)
        return Webhook(
            hook_id,
            account.id,
            url,
            [str(s) for s in dict.fromkeys(subs)],
            current.secret if current else secure_token(),
            inbox_id,
            text_or_none(name) or "",
        )

    def webhooks_index(self, call: Call) -> tuple[int, Any]:
        hooks = sorted(
            (h for h in self._store.webhooks.values() if h.account_id == call.account.id),
            key=lambda h: h.id,
        )
        return 200, {"payload": {"webhooks": [webhook_rest(self._store, h) for h in hooks]}}

    def webhooks_create(self, call: Call) -> tuple[int, Any]:
        hook = self._build_webhook(call.account, None, self._webhook_params(call.params))
        self._store.webhooks[hook.id] = hook
        return 200, {"payload": {"webhook": webhook_rest(self._store, hook)}}

    def webhooks_update(self, call: Call) -> tuple[int, Any]:
        current = self._store.webhook_of(call.account, call.path["webhook_id"])
        hook = self._build_webhook(call.account, current, self._webhook_params(call.params))
        self._store.webhooks[hook.id] = hook
        return 200, {"payload": {"webhook": webhook_rest(self._store, hook)}}

    def webhooks_destroy(self, call: Call) -> tuple[int, Any]:
        hook = self._store.webhook_of(call.account, call.path["webhook_id"])
        del self._store.webhooks[hook.id]
        return 200, NO_BODY

    def automation_rules_index(self, call: Call) -> tuple[int, Any]:
        """`automation_rules/index.json.jbuilder`: `{payload: [rule]}`, as stored (conditions and
        actions are the rule's JSON columns)."""
        created = int(min((i.created_at for i in self._store.inboxes.values()), default=now()).timestamp())
        rules = [
            {
                "id": rule.id,
                "account_id": call.account.id,
                "name": f"n8n webhook {rule.id}",
                "description": "",
                "event_name": rule.event,
                "conditions": [
                    {
                        "attribute_key": "message_type",
                        "filter_operator": "equal_to",
                        "values": [rule.message_type],
                        "query_operator": "and" if rule.inbox_ids else None,
                    },
                    *(
                        [
                            {
                                "attribute_key": "inbox_id",
                                "filter_operator": "equal_to",
                                "values": list(rule.inbox_ids),
                                "query_operator": None,
                            }
                        ]
                        if rule.inbox_ids
                        else []
                    ),
                ],
                "actions": [{"action_name": "send_webhook_event", "action_params": [rule.url]}],
                "created_on": created,
                "active": True,
            }
            for rule in self._events.automation_rules(call.account.id)
        ]
        return 200, {"payload": rules}

    # --- contacts ----------------------------------------------------------------------------

    def contacts_index(self, call: Call) -> tuple[int, Any]:
        contacts = [c for c in self._store.contacts.values() if c.account_id == call.account.id]
        return 200, self._contact_page(contacts, call.params)

    def contacts_search(self, call: Call) -> tuple[int, Any]:
        query = text_or_none(call.params.get("q"))
        if query is None:
            raise unprocessable("Specify search string with parameter q")
        needle = query.strip().lower()
        found = [
            c
            for c in self._store.contacts.values()
            if c.account_id == call.account.id
            and (
                any(needle in (v or "").lower() for v in (c.name, c.email, c.phone_number))
                or needle in (c.identifier or "")
                or (needle.isdigit() and c.id == int(needle))
            )
        ]
        return 200, self._contact_page(found, call.params)

    def _contact_page(self, contacts: list[Contact], params: dict[str, Any]) -> dict[str, Any]:
        page = max(as_int(params.get("page")) or 1, 1)
        chunk = contacts[(page - 1) * CONTACTS_PAGE : page * CONTACTS_PAGE]
        return {
            "meta": {"count": len(contacts), "current_page": page},
            "payload": [contact_rest(self._store, c, with_inboxes=True) for c in chunk],
        }

    def contacts_create(self, call: Call) -> tuple[int, Any]:
        store = self._store
        contact = models.new_contact(store, call.account, call.params)
        contact_inbox: ContactInbox | None = None
        if not blank(call.params.get("inbox_id")):
            inbox = store.inbox_of(call.account, call.params.get("inbox_id"))
            source_id = models.source_id_for(inbox, contact, call.params.get("source_id"))
            contact_inbox, _ = models.find_or_create_contact_inbox(store, contact, inbox, source_id)
        # the transaction commits: from here on nothing can fail
        store.contacts[contact.id] = contact
        if contact_inbox is not None:
            store.contact_inboxes[contact_inbox.id] = contact_inbox
        self._events.contact_created(contact)
        inbox_json = inbox_model(store.inboxes[contact_inbox.inbox_id]) if contact_inbox is not None else None
        return 200, {
            "payload": {
                "contact": contact_rest(store, contact, with_inboxes=True),
                "contact_inbox": {
                    "inbox": inbox_json,
                    "source_id": contact_inbox.source_id if contact_inbox is not None else None,
                },
            }
        }

    def contacts_show(self, call: Call) -> tuple[int, Any]:
        contact = self._store.contact_of(call.account, call.path["contact_id"])
        return 200, {"payload": contact_rest(self._store, contact, with_inboxes=True)}

    def contact_inboxes_create(self, call: Call) -> tuple[int, Any]:
        contact = self._store.contact_of(call.account, call.path["contact_id"])
        inbox = self._store.inbox_of(call.account, call.params.get("inbox_id"))
        if inbox.channel_type != CHANNEL_API:
            raise unprocessable(CONTACT_INBOX_ONLY_API)
        source_id = text_or_none(call.params.get("source_id")) or str(uuid.uuid4())
        record, created = models.find_or_create_contact_inbox(self._store, contact, inbox, source_id)
        if created:
            self._store.contact_inboxes[record.id] = record
        return 200, {"source_id": record.source_id, "inbox": inbox_slim(inbox)}
