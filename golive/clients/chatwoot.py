"""Chatwoot's Application API (`/api/v1/accounts/{account}/…`, header `api_access_token`):
what the pre-activation checks read, and how a message is created on an API-channel inbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import httpx

from golive.clients.http import expect, send
from golive.clients.ledger import Ledger


@dataclass(frozen=True)
class Inbox:
    id: int
    name: str
    channel_type: str


@dataclass(frozen=True)
class Webhook:
    id: int
    url: str
    subscriptions: tuple[str, ...]
    inbox_id: int | None


@dataclass(frozen=True)
class AutomationRule:
    id: int
    event_name: str
    active: bool
    webhook_urls: tuple[str, ...]  # the URLs of its "send webhook event" actions


@dataclass(frozen=True)
class Opened:
    """A conversation opened through the API for a customer of a non-API inbox."""

    contact_id: int
    conversation_id: int
    thumbnail: str = ""  # the contact's picture as Chatwoot holds it (its events carry this one)
    unread_count: int = 0  # Chatwoot's count when it announced the conversation


@dataclass(frozen=True)
class Filed:
    """Where Chatwoot filed a message a channel brought in: the conversation as the API shows
    it (`meta.sender` is the contact) and the message."""

    conversation: dict[str, Any]
    message: dict[str, Any]

    @property
    def conversation_id(self) -> int:
        return int(self.conversation["id"])

    @property
    def contact(self) -> dict[str, Any]:
        sender = (self.conversation.get("meta") or {}).get("sender")
        return sender if isinstance(sender, dict) else {}


@dataclass(frozen=True)
class Created:
    contact_id: int
    source_id: str
    conversation_id: int
    message_id: int


class ChatwootClient:
    """With a ledger, every contact, conversation and message it creates is recorded there, and
    its conversations carry the run id (custom attribute `golive_run`)."""

    def __init__(
        self, *, http: httpx.Client, organisation: str, account_id: int, ledger: Ledger | None = None
    ) -> None:
        self._http = http
        self._org = organisation
        self._base = f"/api/v1/accounts/{account_id}"
        self._ledger = ledger

    def _record(
        self, kind: Literal["contact", "conversation", "message"], record_id: int, **detail: str | int
    ) -> None:
        if self._ledger is not None:
            self._ledger.record("chatwoot", kind, record_id, **detail)

    def _json(self, method: str, path: str, *statuses: int, **kwargs: Any) -> Any:
        return expect(send(self._http, self._org, method, self._base + path, **kwargs), self._org, *statuses)

    def version(self) -> str | None:
        body = expect(send(self._http, self._org, "GET", "/api"), self._org, 200)
        return body.get("version") if isinstance(body, dict) else None

    def inboxes(self) -> list[Inbox]:
        payload = self._json("GET", "/inboxes", 200)["payload"]
        return [Inbox(int(i["id"]), str(i.get("name", "")), str(i.get("channel_type", ""))) for i in payload]

    def webhooks(self) -> list[Webhook]:
        payload = self._json("GET", "/webhooks", 200)["payload"]["webhooks"]
        return [
            Webhook(
                int(w["id"]),
                str(w["url"]),
                tuple(w.get("subscriptions") or ()),
                (w.get("inbox") or {}).get("id") if isinstance(w.get("inbox"), dict) else None,
            )
            for w in payload
        ]

    def automation_rules(self) -> list[AutomationRule]:
        payload = self._json("GET", "/automation_rules", 200)["payload"]
        return [
            AutomationRule(
                int(r["id"]),
                str(r.get("event_name", "")),
                bool(r.get("active")),
                tuple(
                    str(url)
                    for action in r.get("actions") or []
                    if action.get("action_name") == "send_webhook_event"
                    for url in action.get("action_params") or []
                ),
            )
            for r in payload
        ]

    def incoming_message(
        self, *, inbox_id: int, name: str, phone: str | None, text: str, source_id: str
    ) -> Created:
        """Contact → conversation → incoming message, as a bridge (Evolution, WPPConnect) does;
        Chatwoot then delivers the events to its webhooks."""
        contact_id = self._existing_contact(phone) if phone else None
        if contact_id is None:
            contact = self._json(
                "POST",
                "/contacts",
                200,
                json={
                    "inbox_id": inbox_id,
                    "name": name,
                    "phone_number": phone,
                    "source_id": source_id,
                },
            )
            contact_id = int(contact["payload"]["contact"]["id"])
            self._record("contact", contact_id, name=name)
        else:  # Chatwoot keeps one contact per phone: a returning customer gets a new inbox link
            response = send(
                self._http,
                self._org,
                "POST",
                f"{self._base}/contacts/{contact_id}/contact_inboxes",
                json={"inbox_id": inbox_id, "source_id": source_id},
            )
            if response.status_code not in (200, 422):  # 422: this inbox already knows them
                expect(response, self._org, 200)
        body: dict[str, Any] = {"source_id": source_id, "inbox_id": inbox_id, "contact_id": contact_id}
        if self._ledger is not None:
            body["custom_attributes"] = {"golive_run": self._ledger.run_id}
        conversation = self._json("POST", "/conversations", 200, json=body)
        conversation_id = int(conversation["id"])
        self._record("conversation", conversation_id, contact_id=contact_id, inbox_id=inbox_id)
        return Created(contact_id, source_id, conversation_id, self.add_message(conversation_id, text))

    def open_conversation(self, *, inbox_id: int, name: str, phone: str | None, source_id: str) -> Opened:
        """The contact, its inbox link (`source_id`: the IGSID or wa_id) and the conversation,
        as the channel would have made them when the customer's first message arrived. Chatwoot
        then emits `conversation_created` to its webhooks, as for a real first message."""
        # A customer the inbox already knows (same source_id) keeps their contact: the legacy
        # lookup by source_id opens a new conversation for that contact inbox.
        again = send(
            self._http,
            self._org,
            "POST",
            f"{self._base}/conversations",
            json={"source_id": source_id, "inbox_id": inbox_id},
        )
        if again.status_code == 200:
            known = again.json()
            return _opened(known)
        expect(again, self._org, 404)  # no such contact inbox yet
        contact_id = self._existing_contact(phone) if phone else None
        if contact_id is None:
            created = self._json("POST", "/contacts", 200, json={"name": name, "phone_number": phone})
            contact_id = int(created["payload"]["contact"]["id"])
        conversation = self._json(
            "POST",
            "/conversations",
            200,
            json={"source_id": source_id, "inbox_id": inbox_id, "contact_id": contact_id},
        )
        return _opened(conversation, contact_id)

    def messages(self, conversation_id: int) -> list[dict[str, Any]]:
        """The conversation's latest messages, oldest first."""
        payload = self._json("GET", f"/conversations/{conversation_id}/messages", 200)["payload"]
        return [m for m in payload if isinstance(m, dict)]

    def conversations(self, *, inbox_id: int, status: str = "all", page: int = 1) -> list[dict[str, Any]]:
        """The inbox's conversations, most recently active first (Chatwoot's default order)."""
        params = {"inbox_id": inbox_id, "status": status, "assignee_type": "all", "page": page}
        payload = self._json("GET", "/conversations", 200, params=params)["data"]["payload"]
        return [c for c in payload if isinstance(c, dict)]

    def conversation(self, conversation_id: int) -> dict[str, Any]:
        body = self._json("GET", f"/conversations/{conversation_id}", 200)
        return body if isinstance(body, dict) else {}

    def find_message(self, *, inbox_id: int, source_id: str, scan: int = 10) -> Filed | None:
        """The message whose `source_id` is the channel's message id (an Instagram `mid`, a
        WhatsApp `wamid`), looked for in the inbox's `scan` most recently active conversations —
        a message that just arrived moved its conversation to the top."""
        for conversation in self.conversations(inbox_id=inbox_id)[:scan]:
            for message in self.messages(int(conversation["id"])):
                if message.get("source_id") == source_id:
                    return Filed(conversation, message)
        return None

    def contact(self, contact_id: int) -> dict[str, Any]:
        """A contact with its inbox links (`contact_inboxes`: `{source_id, inbox}`)."""
        payload = self._json("GET", f"/contacts/{contact_id}", 200)["payload"]
        return payload if isinstance(payload, dict) else {}

    def record_filed(self, filed: Filed) -> None:
        """Ledger the conversation and message a channel made Chatwoot create for the run (cleanup
        resolves the conversation); the contact may be one Chatwoot already knew, so it is not
        claimed."""
        contact_id = int(filed.contact.get("id") or 0)
        self._record(
            "conversation",
            filed.conversation_id,
            contact_id=contact_id,
            inbox_id=int(filed.conversation.get("inbox_id") or 0),
        )
        self._record("message", int(filed.message["id"]), conversation_id=filed.conversation_id)

    def _existing_contact(self, phone: str) -> int | None:
        found = self._json("GET", "/contacts/search", 200, params={"q": phone})["payload"]
        return next((int(c["id"]) for c in found if c.get("phone_number") == phone), None)

    def add_message(self, conversation_id: int, text: str) -> int:
        message = self._json(
            "POST",
            f"/conversations/{conversation_id}/messages",
            200,
            json={"content": text, "message_type": "incoming"},
        )
        self._record("message", int(message["id"]), conversation_id=conversation_id)
        return int(message["id"])

    # --- tidying test data up (golive cleanup) ---------------------------------------------

    def resolve(self, conversation_id: int) -> str:
        """Resolve the conversation; its status afterwards."""
        answer = self._json(
            "POST", f"/conversations/{conversation_id}/toggle_status", 200, json={"status": "resolved"}
        )
        return str(answer["payload"]["current_status"])

    def labels(self, conversation_id: int) -> list[str]:
        return [
            str(label)
            for label in self._json("GET", f"/conversations/{conversation_id}/labels", 200)["payload"]
        ]

    def add_label(self, conversation_id: int, label: str) -> list[str]:
        """Chatwoot replaces a conversation's labels with the list sent: send the old ones too."""
        wanted = list(dict.fromkeys([*self.labels(conversation_id), label]))
        answer = self._json("POST", f"/conversations/{conversation_id}/labels", 200, json={"labels": wanted})
        return [str(label) for label in answer["payload"]]


def _opened(conversation: dict[str, Any], contact_id: int | None = None) -> Opened:
    """What the suite takes from Chatwoot's answer to opening a conversation."""
    sender = (conversation.get("meta") or {}).get("sender") or {}
    return Opened(
        contact_id if contact_id is not None else int(sender["id"]),
        int(conversation["id"]),
        str(sender.get("thumbnail") or ""),
        int(conversation.get("unread_count") or 0),
    )
