"""Webhook delivery as `WebhookListener` + `Webhooks::Trigger` do it: who receives an event,
one signed POST per target on a background job queue, no retries, and the delivery log."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import httpx

from golive.sandbox.chatwoot.state import Inbox, Store
from golive.sandbox.chatwoot.wire import CHANNEL_API, iso, now, rails_json
from golive.sandbox.worker import JobQueue

log = logging.getLogger("golive.sandbox.chatwoot")

MESSAGE_EVENTS = frozenset({"message_created", "message_updated"})
CONTACT_EVENTS = frozenset({"contact_created", "contact_updated"})
_USER_AGENT = "rest-client/2.1.0 (linux x86_64) ruby/3.4.4p34"


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt (there is never a second one)."""

    delivery_id: str
    event: str
    url: str
    target: str  # "account_webhook" | "api_inbox_webhook" | "automation_rule"
    webhook_id: int | None
    inbox_id: int | None
    status_code: int | None
    error: str | None
    signed: bool
    attempted_at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Job:
    delivery_id: str
    event: str
    url: str
    body: bytes
    secret: str | None
    target: str
    webhook_id: int | None
    inbox_id: int | None
    message_id: int | None
    generation: int
    delivery_header: bool = True  # X-Chatwoot-Delivery: sent by the builds that sign


def _delivery_crashed(job: Job, exc: Exception) -> None:
    log.error("webhook delivery %s crashed: %s: %s", job.delivery_id, type(exc).__name__, exc)


class Deliveries:
    """Queues one delivery per target of an event and works the queue on one thread.

    `on_failed(message_id, error)` is called, under the store's lock, when an API-inbox delivery
    of a message event fails (Chatwoot then marks the message failed).
    """

    def __init__(self, store: Store, *, timeout_s: float, on_failed: Callable[[int, str], None]) -> None:
        self._store = store
        self._on_failed = on_failed
        self._log: list[Delivery] = []
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False, trust_env=False)
        self._jobs: JobQueue[Job] = JobQueue("chatwoot-double-deliveries", self._deliver, _delivery_crashed)

    @property
    def pending(self) -> int:
        return self._jobs.pending

    def attempted(self) -> list[Delivery]:
        """The delivery log. Called under the store's lock."""
        return list(self._log)

    def forget(self) -> None:
        """A reset: clear the log and drop the deliveries not attempted yet. Under the lock."""
        self._log.clear()
        self._jobs.drop_pending()

    def wait_idle(self, timeout: float) -> bool:
        return self._jobs.wait_idle(timeout)

    def close(self) -> None:
        """Stop the worker (pending deliveries are still attempted) and the client."""
        self._jobs.close()
        self._client.close()

    def emit(self, event: str, payload: dict[str, Any], account_id: int, inbox: Inbox | None) -> None:
        """Queue one delivery per target, in the listener's order. Called under the lock."""
        body = rails_json(payload)
        payload_inbox = payload.get("inbox")
        bound_to = payload_inbox.get("id") if isinstance(payload_inbox, dict) else None
        message_id = payload.get("id") if event in MESSAGE_EVENTS else None
        generation = self._store.generation
        hooks = sorted(
            (h for h in self._store.webhooks.values() if h.account_id == account_id), key=lambda h: h.id
        )
        for hook in hooks:
            if event not in hook.subscriptions:
                continue
            if bound_to is not None and hook.inbox_id is not None and hook.inbox_id != bound_to:
                continue
            signs = self._store.build.signs_account_webhooks
            self._enqueue(
                Job(
                    str(uuid.uuid4()),
                    event,
                    hook.url,
                    body,
                    (hook.secret or None) if signs else None,
                    "account_webhook",
                    hook.id,
                    None,
                    message_id,
                    generation,
                    signs,
                )
            )
        if (
            inbox is not None
            and event not in CONTACT_EVENTS
            and inbox.channel_type == CHANNEL_API
            and inbox.webhook_url
        ):
            signs = self._store.build.signs_api_inbox_webhooks
            self._enqueue(
                Job(
                    str(uuid.uuid4()),
                    event,
                    inbox.webhook_url,
                    body,
                    (inbox.secret or None) if signs else None,
                    "api_inbox_webhook",
                    None,
                    inbox.id,
                    message_id,
                    generation,
                    signs,
                )
            )

    def emit_to(self, url: str, event: str, payload: dict[str, Any], rule_id: int) -> None:
        """One unsigned delivery to an automation rule's URL. Called under the lock."""
        body = rails_json(payload)
        job = Job(str(uuid.uuid4()), event, url, body, None, "automation_rule", rule_id, None, None, 0)
        self._enqueue(replace(job, generation=self._store.generation))

    def _enqueue(self, job: Job) -> None:
        if not self._jobs.submit(job):
            log.warning("the Chatwoot double is closed: %s to %s not delivered", job.event, job.url)

    def _deliver(self, job: Job) -> None:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": _USER_AGENT,
        }
        if job.delivery_header:
            headers["X-Chatwoot-Delivery"] = job.delivery_id
        if job.secret:
            timestamp = str(int(time.time()))
            digest = hmac.new(
                job.secret.encode(), timestamp.encode() + b"." + job.body, hashlib.sha256
            ).hexdigest()
            headers["X-Chatwoot-Timestamp"] = timestamp
            headers["X-Chatwoot-Signature"] = f"sha256={digest}"
        attempted_at = iso(now()) or ""
        status: int | None = None
        error: str | None = None
        try:
            response = self._client.post(job.url, content=job.body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"{status} {response.reason_phrase}".strip()
        except httpx.ConnectTimeout:
            error = "Timed out connecting to server"
        except httpx.TimeoutException:
            error = "Timed out reading data from server"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self._store.lock:
            if job.generation != self._store.generation:
                return  # reset() happened meanwhile: this delivery belongs to the old world
            self._log.append(
                Delivery(
                    job.delivery_id,
                    job.event,
                    job.url,
                    job.target,
                    job.webhook_id,
                    job.inbox_id,
                    status,
                    error,
                    bool(job.secret),
                    attempted_at,
                )
            )
            if error and job.target == "api_inbox_webhook" and job.message_id is not None:
                self._on_failed(job.message_id, error)
        if error:
            log.info("webhook %s to %s failed (no retry): %s", job.event, job.url, error)
