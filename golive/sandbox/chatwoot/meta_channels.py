"""Chatwoot's channel webhooks, where Meta posts: `POST /webhooks/instagram`
(`Webhooks::InstagramController#events`) and `POST /webhooks/whatsapp/{phone_number}`
(`Webhooks::WhatsappController#process_payload`).

* From 4.14.0 (PR #14280) both refuse with an empty 401 an event whose `X-Hub-Signature-256`
  is not `sha256=<hex HMAC-SHA256 of the raw body>` keyed by the channel's Meta app secret
  (WhatsApp: WHATSAPP_APP_SECRET; Instagram: INSTAGRAM_APP_SECRET or FB_APP_SECRET — the double
  has one secret per channel). Older builds check nothing.
* A body that is not JSON: Rails' 400. Instagram: an `object` other than "instagram" is a 422
  with no body; no `object` at all crashes the controller (`nil.casecmp`): Rails' 500.
* Otherwise Chatwoot answers at once — Instagram `"ok"`, WhatsApp an empty 200 — and a job
  processes the event; the double runs that job before answering, and a job that fails is
  invisible to Meta (logged, still 200).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from golive.sandbox.chatwoot.events import Events
from golive.sandbox.chatwoot.meta_instagram import InstagramEvents
from golive.sandbox.chatwoot.meta_whatsapp import WhatsappEvents
from golive.sandbox.chatwoot.state import Store
from golive.sandbox.chatwoot.wire import Build, rails_json, reject_constant, utf8_clean

SIGNATURE_HEADER = "x-hub-signature-256"
LOG = logging.getLogger("golive.sandbox.chatwoot.meta")


def _bad_request() -> Response:
    return Response(rails_json({"status": 400, "error": "Bad Request"}), 400, media_type="application/json")


def _parse(raw: bytes) -> Any:
    try:
        body = json.loads(raw, parse_constant=reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return body if utf8_clean(body) else None


class MetaChannels:
    def __init__(
        self,
        store: Store,
        events: Events,
        build: Build,
        app_secrets: dict[str, str],
        fault_on: Callable[[str], bool],
    ) -> None:
        self._store = store
        self._build = build
        self._secrets = app_secrets
        self._instagram = InstagramEvents(store, events, build, fault_on)
        self._whatsapp = WhatsappEvents(store, events, fault_on)

    def routes(self) -> list[Route]:
        return [
            Route("/webhooks/instagram", self._instagram_events, methods=["POST"]),
            Route("/webhooks/whatsapp/{phone_number}", self._whatsapp_events, methods=["POST"]),
        ]

    def _genuine(self, channel: str, raw: bytes, signature: str | None) -> bool:
        if not self._build.checks_meta_signature:
            return True
        secret = self._secrets.get(channel)
        if not secret or not signature:
            return False
        expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(signature.encode(), expected.encode())

    async def _instagram_events(self, request: Request) -> Response:
        raw = await request.body()
        if not self._genuine("instagram", raw, request.headers.get(SIGNATURE_HEADER)):
            return Response(status_code=401)
        body = _parse(raw)
        if not isinstance(body, dict):
            return _bad_request()
        kind = body.get("object")
        if not isinstance(kind, str):
            return Response(rails_json({"status": 500, "error": "Internal Server Error"}), 500)
        if kind.lower() != "instagram":
            return Response(status_code=422)
        self._run("instagram", lambda: self._instagram.process(body.get("entry")))
        return Response(rails_json("ok"), 200, media_type="application/json")

    async def _whatsapp_events(self, request: Request) -> Response:
        raw = await request.body()
        if not self._genuine("whatsapp", raw, request.headers.get(SIGNATURE_HEADER)):
            return Response(status_code=401)
        body = _parse(raw)
        if not isinstance(body, dict):
            return _bad_request()
        phone_number = str(request.path_params.get("phone_number", ""))
        self._run("whatsapp", lambda: self._whatsapp.process(body, phone_number))
        return Response(status_code=200)

    def _run(self, channel: str, job: Callable[[], None]) -> None:
        """The background job: its failure is logged, never answered to Meta."""
        with self._store.lock:
            try:
                job()
            except Exception:  # a job error never reaches the webhook's caller
                LOG.exception("the %s events job failed", channel)
