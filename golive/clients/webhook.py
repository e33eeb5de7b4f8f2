"""Deliver Chatwoot events to a webhook URL the way Chatwoot does: signed raw bytes,
one delivery id each. Also the deliberate corruptions the security scenarios need."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any

import httpx

from golive.clients.http import send
from golive.payloads import chatwoot
from golive.secrets import Secret
from golive.settings import SignatureMode


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
    event: str = ""  # the event of the delivery this answers
    log_line: str = ""  # the sandbox's log line for a 5xx (a real CRM sends none)

    @property
    def ignored(self) -> str | None:
        value = self.body.get("ignored")
        return str(value) if value is not None else None


STALE_BY_S = 3600
SANDBOX_LOG_HEADER = "X-Sandbox-Log"  # the embedded stack explains its 5xx here


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

    def prepare(
        self,
        payload: dict[str, Any],
        *,
        signing: Signing = Signing.VALID,
        build: chatwoot.Build | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> Delivery:
        """The delivery as `build` (default: the newest Chatwoot) would send it; a build that
        predates signing sends no signature whatever `signing` asks for a valid one."""
        body = chatwoot.encode(payload)
        secret = self._secret.reveal() if self._secret else None
        if signing is Signing.NONE:
            secret = None
        elif signing is Signing.WRONG:
            secret = (secret or "") + "-not-the-secret"
        timestamp = int(time.time()) - (STALE_BY_S if signing is Signing.STALE else 0)
        mode = {Signing.CHATWOOT_HMAC: "hmac", Signing.SECRET_ITSELF: "legacy"}.get(signing, self._mode)
        headers = chatwoot.delivery_headers(
            body,
            secret=secret,
            mode=mode,
            timestamp=timestamp,
            build=build if signing is Signing.VALID else None,
        )
        if signing is Signing.TAMPERED:
            body = body.replace(b'"incoming"', b'"outgoing"', 1) + b" "
        return Delivery(str(payload.get("event", "")), body, {**headers, **(extra_headers or {})})

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
        return WebhookAnswer(
            response.status_code,
            body if isinstance(body, dict) else {"raw": body},
            delivery.event,
            response.headers.get(SANDBOX_LOG_HEADER, ""),
        )

    def send_at_once(self, delivery: Delivery, copies: int) -> tuple[WebhookAnswer, ...]:
        """`copies` of one delivery released together: every sender waits at a barrier first, so
        the requests reach the target within a fraction of a millisecond of each other."""
        barrier = threading.Barrier(copies)

        def one(_: int) -> WebhookAnswer:
            barrier.wait(timeout=30)
            return self.send(delivery)

        with ThreadPoolExecutor(max_workers=copies) as pool:
            return tuple(pool.map(one, range(copies)))

    def send_together(self, deliveries: list[Delivery]) -> tuple[WebhookAnswer, ...]:
        """Different deliveries released together (same barrier as `send_at_once`)."""
        barrier = threading.Barrier(len(deliveries))

        def one(delivery: Delivery) -> WebhookAnswer:
            barrier.wait(timeout=30)
            return self.send(delivery)

        with ThreadPoolExecutor(max_workers=len(deliveries)) as pool:
            return tuple(pool.map(one, deliveries))

    def send_raw(
        self, body: bytes, *, sign: bool = True, content_type: str | None = None, event: str = "raw"
    ) -> WebhookAnswer:
        """Arbitrary bytes (malformed JSON, oversized bodies), signed unless told otherwise."""
        secret = self._secret.reveal() if (self._secret and sign) else None
        headers = chatwoot.delivery_headers(body, secret=secret, mode=self._mode)
        if content_type is not None:
            headers["Content-Type"] = content_type
        return self.send(Delivery(event, body, headers))

    def deliver(self, payload: dict[str, Any], *, signing: Signing = Signing.VALID) -> WebhookAnswer:
        return self.send(self.prepare(payload, signing=signing))

    @property
    def has_secret(self) -> bool:
        return self._secret is not None

    @property
    def signature_mode(self) -> SignatureMode:
        return self._mode
