"""The Chatwoot double: the Application API subset the suite uses, and real webhook delivery.

What it mirrors (see `chatwoot-wire-format.md`; facts checked in Chatwoot's source):

* **Auth** (`Api::BaseController`, `AccessTokenAuthHelper`): no `api_access_token` header
  falls through to Devise (401 `{"errors": ["You need to sign in or sign up before
  continuing."]}`); an unknown token is 401 `{"error": "Invalid Access Token"}`; an unknown
  account is `Account.find` failing, 404 `{"error": "Resource could not be found"}`.
* **Incoming messages only on API inboxes** (`Messages::MessageBuilder`): 422
  `{"error": "Incoming messages are only allowed in Api inboxes"}` from the messages endpoint.
* **Who receives what** (`WebhookListener`): every account webhook subscribed to the event,
  skipping an inbox-bound webhook only when the payload carries an `inbox` whose id differs
  (only message events do); and, for `Channel::Api` inboxes with a `webhook_url`, every
  conversation and message event of that inbox with no subscription filter. Activity messages
  never fire. Contact events go to account webhooks only.
* **Delivery** (`Webhooks::Trigger`): one POST per target, 5 s timeout, no retries; signed
  with `X-Chatwoot-Timestamp` + `X-Chatwoot-Signature: sha256=<hex HMAC(secret, "ts.body")>`
  when the target has a secret (the webhook's secret, or the API channel's `secret`), and
  `X-Chatwoot-Delivery` (a uuid per delivery). A failed API-inbox delivery of a message event
  marks the message `failed` (which is a message update, so `message_updated` follows once).
* **Automation rules** (`AutomationRuleListener`, action `send_webhook_event`): a matching
  message event posts the conversation (`webhook_data`, `event: "automation_event.<event>"`)
  to the rule's URL, unsigned (`WebhookJob` gets no secret).
* **Meta's channel webhooks** (`Webhooks::InstagramController`, `Webhooks::WhatsappController`
  and their jobs): `POST /webhooks/instagram` and `POST /webhooks/whatsapp/{phone_number}` find
  the channel, make or reuse the contact and its inbox link, the conversation and the message
  (deduplicated on Meta's message id), and dispatch the same events as any message; echoes,
  read receipts, unsent messages and WhatsApp statuses too (`meta_channels`,
  `meta_instagram`, `meta_whatsapp`).
* **Payloads** are built here, independently of the suite's builders, in the real wire format
  and serialised like Rails (compact, `<`, `>`, `&` escaped as `\\u003c`, `\\u003e`, `\\u0026`).

Deliveries run on one background thread in FIFO order: for one conversation,
`conversation_created` always goes out before its `message_created` (real Chatwoot does not
promise that; the double is deterministic on purpose). The delivery log is on the double-only
route `GET /__double/deliveries`.

State lives in memory (Chatwoot is a separate system from the CRM database), guarded by a lock.

Modules: `setup` (what the double is started with), `wire` (Chatwoot's vocabulary, Rails'
JSON), `state` (the records and their store), `calls` (a handler's input, Chatwoot's error
answers), `models` (validations, record building), `events` (what model callbacks dispatch),
`payloads` / `views` (webhook bodies / REST views), `delivery` (targets, signing, the job
queue), `api` (routes, auth) with `api_account` and `api_conversations` (the handlers), and
`double` (`ChatwootDouble`, which wires them together).
"""

from __future__ import annotations

from golive.sandbox.chatwoot.delivery import Delivery
from golive.sandbox.chatwoot.double import ChatwootDouble
from golive.sandbox.chatwoot.setup import (
    AccountSetup,
    AutomationRuleSetup,
    ContactSetup,
    InboxSetup,
    WebhookSetup,
)
from golive.sandbox.chatwoot.wire import rails_json

__all__ = [
    "AccountSetup",
    "AutomationRuleSetup",
    "ChatwootDouble",
    "ContactSetup",
    "Delivery",
    "InboxSetup",
    "WebhookSetup",
    "rails_json",
]
