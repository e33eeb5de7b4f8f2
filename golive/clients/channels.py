"""Chatwoot's channel webhooks, where Meta posts its events: `POST /webhooks/instagram` and
`POST /webhooks/whatsapp/{phone_number}`. The suite stands in for Meta here (the `provider`
injection path): Chatwoot then finds the channel, makes the contact, conversation and message,
and delivers its own webhooks to the CRM and n8n.

Chatwoot answers at once (it processes the event in a background job): Instagram `"ok"`,
WhatsApp an empty 200; a build that checks Meta's signature answers 401 to a missing or wrong
one. What the event became is read back through Chatwoot's Application API, never from here.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

import httpx

from golive.clients.http import send
from golive.payloads import meta
from golive.secrets import Secret


@dataclass(frozen=True)
class ChannelAnswer:
    status: int
    body: str
    path: str

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


class ChannelWebhooks:
    """Posts Meta's events to one Chatwoot installation's channel webhooks, signed with the Meta
    app secret of the channel when the profile names one."""

    def __init__(
        self,
        *,
        http: httpx.Client,
        organisation: str,
        whatsapp_phone_number: str | None,
        app_secrets: dict[meta.MetaChannel, Secret | None],
    ) -> None:
        self._http = http
        self._org = organisation
        self._phone = whatsapp_phone_number
        self._secrets = app_secrets

    def path(self, channel: meta.MetaChannel) -> str:
        if channel == "instagram":
            return "/webhooks/instagram"
        # Chatwoot finds a WhatsApp channel by its number as stored: E.164, `+` included
        return "/webhooks/whatsapp/" + urllib.parse.quote(self._phone or "", safe="")

    def post(self, event: meta.MetaEvent, *, signed: bool = True) -> ChannelAnswer:
        """Post the event as Meta would; `signed=False` leaves the signature out."""
        body = event.body
        secret = self._secrets.get(event.channel)
        headers = meta.headers(body, secret.reveal() if (secret is not None and signed) else None)
        path = self.path(event.channel)
        response = send(self._http, self._org, "POST", path, content=body, headers=headers)
        return ChannelAnswer(response.status_code, response.text[:300], path)
