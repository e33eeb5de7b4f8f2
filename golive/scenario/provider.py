"""The `provider` path: a customer's message as Meta delivers it, posted to Chatwoot's channel
webhook. Chatwoot finds the channel, makes (or reuses) the contact, its inbox link and the
conversation, creates the message and delivers its own webhooks to the CRM and n8n.

What Chatwoot made of the event is read back through its Application API — the conversation
that holds a message whose `source_id` is the Meta message id — and becomes the oracle the CRM
checks compare against: the ids, the contact's name and phone are Chatwoot's, not the suite's.

On a real staging this is a real customer message to Chatwoot: Chatwoot will send the agent's
answer to Meta. So a staging needs `[chatwoot] allow_provider_injection = true`, and Meta events
only ever name the test accounts the profile lists (`[test] provider_senders`, the profile's
test IGSID and WhatsApp phone).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from golive.clients.channels import ChannelAnswer, ChannelWebhooks
from golive.clients.chatwoot import ChatwootClient, Filed
from golive.errors import ConfigError, WaitTimeout
from golive.organisation import Organisation
from golive.payloads import chatwoot, meta
from golive.scenario.data import Person, required
from golive.settings import Channel
from golive.waiting import eventually

CHANNEL_TYPES: dict[Channel, str] = {"whatsapp": "Channel::Whatsapp", "instagram": "Channel::Instagram"}
UNAUTHORIZED = 401


@dataclass(frozen=True)
class Arrival:
    """A Meta event Chatwoot took in, and where it filed the message."""

    event: meta.MetaEvent
    answer: ChannelAnswer
    filed: Filed


def sender_id(channel: Channel, person: Person) -> str:
    """The id Meta names the customer by: the IGSID, or the phone in E.164 (wa_id without `+`)."""
    return person.instagram_id if channel == "instagram" else person.whatsapp_id


class Provider:
    """Posts Meta's events for one organisation and reads back what Chatwoot made of them."""

    def __init__(
        self,
        *,
        organisation: Organisation,
        channels: ChannelWebhooks,
        chatwoot_api: ChatwootClient,
        run_id: str,
    ) -> None:
        self.org = organisation
        self.channels = channels
        self.chatwoot_api = chatwoot_api
        self.run_id = run_id

    # --- safety ------------------------------------------------------------------------------

    def allowed(self, channel: Channel, person: Person) -> None:
        """Off the sandbox, Meta events name only the profile's test accounts: Chatwoot answers
        the sender through Meta, so an invented id is a message to a stranger (or to nobody)."""
        if self.org.environment == "sandbox":
            return
        if not self.org.meta.allowed_off_sandbox:  # the profile check refuses this already
            flag = self.org.setting("chatwoot.allow_provider_injection")
            raise ConfigError(
                f"'{self.org.slug}' is not a sandbox: set {flag} to inject through provider",
                setting="chatwoot.allow_provider_injection",
            )
        known = {*self.org.meta.test_senders, self.org.test_igsid, self.org.test_whatsapp_phone}
        who = sender_id(channel, person)
        if who not in known:
            raise ConfigError(
                f"'{self.org.slug}' injects {channel} through provider on a {self.org.environment} "
                f"target, where Meta events may only name test accounts; {who} is not one of "
                f"{sorted(known)} (add it to {self.org.setting('test.provider_senders')} if it is a "
                "test account of yours)",
                setting="test.provider_senders",
            )

    # --- events ------------------------------------------------------------------------------

    def mid(self, channel: Channel) -> str:
        """A Meta message id the run can be traced by (Chatwoot keeps it as `source_id`), unique
        across organisations and processes: Chatwoot deduplicates on it installation-wide."""
        stamp = f"golive-{self.run_id}-{uuid.uuid4().hex[:12]}"
        return stamp if channel == "instagram" else f"wamid.{stamp}"

    def message(self, channel: Channel, person: Person, text: str) -> meta.MetaEvent:
        now = time.time()
        if channel == "instagram":
            return meta.instagram_message(
                account_id=required(self.org.meta.instagram_account_id, "chatwoot.instagram_account_id"),
                igsid=person.instagram_id,
                mid=self.mid(channel),
                text=text,
                timestamp_ms=int(now * 1000),
            )
        return meta.whatsapp_text(
            phone_number=required(self.org.meta.whatsapp_phone_number, "chatwoot.whatsapp_phone_number"),
            phone_number_id=required(
                self.org.meta.whatsapp_phone_number_id, "chatwoot.whatsapp_phone_number_id"
            ),
            wa_id=person.whatsapp_id.lstrip("+"),
            name=person.name,
            wamid=self.mid(channel),
            text=text,
            timestamp_s=int(now),
        )

    def post(self, event: meta.MetaEvent) -> ChannelAnswer:
        """Post the event; Chatwoot accepts it at once (a job processes it), or refuses it."""
        answer = self.channels.post(event)
        if answer.status == UNAUTHORIZED:
            setting = self.org.setting(f"chatwoot.{event.channel}_app_secret")
            raise AssertionError(
                f"Chatwoot refused the Meta event on {answer.path} with 401: it checks Meta's "
                f"X-Hub-Signature-256 and the suite's signature is missing or made with another "
                f"app secret ({setting}: it must be the app secret Chatwoot verifies with)"
            )
        if not answer.accepted:
            raise AssertionError(
                f"Chatwoot's channel webhook {answer.path} refused the Meta event {event.mid}: "
                f"{answer.status} {answer.body!r}"
            )
        return answer

    def arrive(self, channel: Channel, event: meta.MetaEvent, *, near: int | None = None) -> Arrival:
        """Post `event` and wait for Chatwoot to file its message; `near` is the conversation it
        is expected in, looked at first."""
        answer = self.post(event)
        return Arrival(event, answer, self.filed(channel, event, near=near))

    def filed(self, channel: Channel, event: meta.MetaEvent, *, near: int | None = None) -> Filed:
        inbox = self.org.inboxes[channel].id

        def look() -> Filed | None:
            if near is not None:
                found = next(
                    (m for m in self.chatwoot_api.messages(near) if m.get("source_id") == event.mid), None
                )
                if found is not None:
                    return Filed(self.chatwoot_api.conversation(near), found)
            return self.chatwoot_api.find_message(inbox_id=inbox, source_id=event.mid)

        try:
            filed = eventually(
                look,
                lambda found: found is not None,
                timeout=self.org.timeout_s,
                what=f"Chatwoot to file the Meta message {event.mid} in inbox {inbox}",
            )
        except WaitTimeout:
            raise AssertionError(
                f"Chatwoot accepted the Meta event {event.mid} ({channel}, sender "
                f"{_sender(event)}) but filed no message with that source_id in inbox {inbox} "
                f"within {self.org.timeout_s:.0f}s. Chatwoot drops an event it cannot place: "
                f"{_why_dropped(channel, self.org)}"
            ) from None
        assert filed is not None
        self.chatwoot_api.record_filed(filed)
        return filed

    # --- the oracle ---------------------------------------------------------------------------

    def conversation(self, channel: Channel, filed: Filed, build: chatwoot.Build) -> chatwoot.Conversation:
        """The conversation as Chatwoot holds it, in the shape its webhooks carry."""
        conv, contact = filed.conversation, filed.contact
        contact_id = int(required(contact.get("id"), "the contact of the conversation Chatwoot filed"))
        source_id = self._source_id(contact_id, int(conv["inbox_id"]))
        attributes = contact.get("additional_attributes") or {}
        assignee = (conv.get("meta") or {}).get("assignee")
        return chatwoot.Conversation(
            account_id=self.org.account_id,
            account_name=self.org.name,
            inbox_id=int(conv["inbox_id"]),
            inbox_name=f"{channel.capitalize()} {self.org.name}",
            channel=CHANNEL_TYPES[channel],
            display_id=filed.conversation_id,
            contact=chatwoot.Contact(
                id=contact_id,
                name=str(contact.get("name") or ""),
                phone_number=contact.get("phone_number"),
                email=contact.get("email"),
                identifier=contact.get("identifier"),
                instagram_username=attributes.get("social_instagram_user_name")
                if isinstance(attributes, dict)
                else None,
            ),
            contact_inbox_id=0,  # the Application API does not show it; the CRM keys on source_id
            source_id=source_id,
            created_at=int(conv.get("created_at") or time.time()),
            status=str(conv.get("status") or "open"),
            labels=tuple(str(label) for label in conv.get("labels") or ()),
            unread_count=int(conv.get("unread_count") or 1),
            with_account=build.sends_account,
            assignee=chatwoot.Agent(int(assignee["id"]), str(assignee.get("name") or ""))
            if isinstance(assignee, dict) and assignee.get("id") is not None
            else None,
        )

    def _source_id(self, contact_id: int, inbox_id: int) -> str | None:
        """The contact's inbox link in this inbox: the IGSID / wa_id Chatwoot keeps for them."""
        links = self.chatwoot_api.contact(contact_id).get("contact_inboxes") or []
        for link in links:
            inbox = link.get("inbox") if isinstance(link, dict) else None
            if isinstance(inbox, dict) and inbox.get("id") == inbox_id:
                return str(link.get("source_id"))
        return None

    @staticmethod
    def message_of(filed: Filed, text: str, mid: str) -> chatwoot.Message:
        created = filed.message.get("created_at")
        return chatwoot.Message(
            id=int(filed.message["id"]),
            content=filed.message.get("content") if filed.message.get("content") is not None else text,
            created_at=float(created) if isinstance(created, int | float) else time.time(),
            source_id=mid,
        )


def filed_for_sender(
    channel: Channel, conv: chatwoot.Conversation, person: Person, event: meta.MetaEvent
) -> None:
    """Chatwoot filed the message under the sender's own inbox link (a new customer gets one;
    a returning one keeps theirs) — never under another customer's."""
    expected = person.instagram_id if channel == "instagram" else person.whatsapp_id.lstrip("+")
    if conv.source_id != expected:
        raise AssertionError(
            f"Chatwoot filed the Meta message {event.mid} from {channel}:{expected} in "
            f"conversation {conv.display_id} of contact {conv.contact.id} ({conv.contact.name!r}), "
            f"whose {channel} inbox link is {conv.source_id!r}: another customer's contact inbox"
        )


def _sender(event: meta.MetaEvent) -> str:
    if event.channel == "instagram":
        messaging = event.payload["entry"][0]["messaging"][0]
        return str(messaging["sender"]["id"])
    value = event.payload["entry"][0]["changes"][0]["value"]
    return str((value.get("contacts") or [{}])[0].get("wa_id"))


def _why_dropped(channel: Channel, org: Organisation) -> str:
    if channel == "instagram":
        return (
            f"no Instagram inbox whose account id is {org.meta.instagram_account_id} "
            f"({org.setting('chatwoot.instagram_account_id')}), an inbox that needs "
            "reauthorisation, or — for a contact's first message — a profile Chatwoot could not "
            "fetch from Meta's Graph API (builds before 4.15 drop the message then; use a test "
            f"account that has written to the business, {org.setting('test.provider_senders')})"
        )
    where = org.settings("chatwoot.whatsapp_phone_number", "chatwoot.whatsapp_phone_number_id")
    return (
        f"no WhatsApp Cloud inbox with the number {org.meta.whatsapp_phone_number} and phone number "
        f"id {org.meta.whatsapp_phone_number_id} ({where}), "
        "an inbox that needs reauthorisation, or an account that is not active"
    )
