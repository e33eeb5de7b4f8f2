"""Deliver Chatwoot events to a webhook URL the way Chatwoot does: signed raw bytes,
one delivery id each. Also the deliberate corruptions the security scenarios need."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

import httpx

from golive.clients.http import send
from golive.config import SignatureMode
from golive.payloads import chatwoot
from golive.secrets import Secret


class Signing(Enum):
    VALID = "valid"
    NONE = "none"  # no signature headers at all
    WRONG = "wrong"  # signed with another secret
    STALE = "stale"  # correctly signed, timestamp outside the ±300 s window
    TAMPERED = "tampered"  # signed, then the body changed in transit
    CHATWOOT_HMAC = "chatwoot-hmac"  # Chatwoot's own scheme, whatever the profile's signature mode
    SECRET_ITSELF = "secret-itself"  # the legacy form: the signature header is the secret itself


@dataclass(frozen=True)
class Delivery:
    """One delivery, frozen: replaying it re-sends the very same bytes and headers."""

    event: str
    body: bytes
    headers: dict[str, str]

    @property
    def delivery_id(self) -> str:
        return self.headers.get("X-Chatwoot-Delivery", "")


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    body: dict[str, Any]

    @property
    def ignored(self) -> str | None:
        value = self.body.get("ignored")
        return str(value) if value is not None else None


STALE_BY_S = 3600


class WebhookEmitter:
    """Posts deliveries to one webhook URL (the CRM's, or n8n's)."""

    def __init__(
        self,
        *,
        http: httpx.Client,
        organisation: str,
        path: str,
        secret: Secret | None,
        signature_mode: SignatureMode = "hmac",
    ) -> None:
        self._http = http
        self._org = organisation
        self._path = path
        self._secret = secret
        self._mode = signature_mode

    def prepare(self, payload: dict[str, Any], *, signing: Signing = Signing.VALID) -> Delivery:
        body = chatwoot.encode(payload)
        secret = self._secret.reveal() if self._secret else None
        if signing is Signing.NONE:
            secret = None
        elif signing is Signing.WRONG:
            secret = (secret or "") + "-not-the-secret"
        timestamp = int(time.time()) - (STALE_BY_S if signing is Signing.STALE else 0)
        mode = {Signing.CHATWOOT_HMAC: "hmac", Signing.SECRET_ITSELF: "legacy"}.get(signing, self._mode)
        headers = chatwoot.delivery_headers(body, secret=secret, mode=mode, timestamp=timestamp)
        if signing is Signing.TAMPERED:
            body = body.replace(b'"incoming"', b'"outgoing"', 1) + b" "
        return Delivery(str(payload.get("event", "")), body, headers)

    def send(self, delivery: Delivery) -> WebhookAnswer:
        response = send(
            self._http,
            self._org,
            "POST",
            self._path,
            content=delivery.body,
            headers=delivery.headers,
        )
        try:
            body = response.json()
        except ValueError:
            body = {"raw": response.text[:300]}
        return WebhookAnswer(response.status_code, body if isinstance(body, dict) else {"raw": body})

    def send_raw(self, body: bytes, *, sign: bool = True) -> WebhookAnswer:
        """Arbitrary bytes (malformed JSON, oversized bodies), signed unless told otherwise."""
        secret = self._secret.reveal() if (self._secret and sign) else None
        headers = chatwoot.delivery_headers(body, secret=secret, mode=self._mode)
        return self.send(Delivery("raw", body, headers))

    def deliver(self, payload: dict[str, Any], *, signing: Signing = Signing.VALID) -> WebhookAnswer:
        return self.send(self.prepare(payload, signing=signing))

    @property
    def has_secret(self) -> bool:
        return self._secret is not None

    @property
    def signature_mode(self) -> SignatureMode:
        return self._mode
