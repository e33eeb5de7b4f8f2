"""`ChatwootDouble`: the store, the delivery worker and the Application API wired into one app,
plus the two routes that are not account-scoped (`GET /api`, `GET /__double/deliveries`)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from golive.errors import SandboxError
from golive.sandbox.chatwoot.api import ApplicationApi, RailsJSON
from golive.sandbox.chatwoot.delivery import Deliveries, Delivery
from golive.sandbox.chatwoot.events import Events
from golive.sandbox.chatwoot.meta_channels import MetaChannels
from golive.sandbox.chatwoot.setup import AccountSetup, AutomationRuleSetup, WebhookSetup
from golive.sandbox.chatwoot.state import Store, User
from golive.sandbox.chatwoot.wire import NEWEST_VERSION, Build, now, secure_token

# The build it plays unless told otherwise: signs account webhooks (>= 4.11.2) and API-inbox
# callbacks (>= 4.13.0) and sends `account` in conversation payloads (4.15-based code).
CHATWOOT_VERSION = NEWEST_VERSION
# Leak canaries: one more webhook per account whose secret, URL token and (echoed) name are
# secrets the suite never loads — it meets them only in `GET …/webhooks` answers, as it meets
# the real webhooks' secrets. The project's leak test proves none of them reaches reports/.
# Its only event is never fired by this double, and port 9 (discard) would swallow it anyway.
CANARY_WEBHOOK_URL = "http://127.0.0.1:9/golive-leak-canary"
CANARY_WEBHOOK_ID = 9000


def _canary_webhook(number: int) -> WebhookSetup:
    secret, token = secure_token(), secure_token()
    return WebhookSetup(
        number,
        f"{CANARY_WEBHOOK_URL}?token={token}",
        ("conversation_typing_on",),
        secret,
        name=f"golive leak canary, echoing its secret {secret}",
    )


class ChatwootDouble:
    """An in-memory Chatwoot: Application API + webhook delivery. Thread-safe."""

    def __init__(
        self,
        *,
        api_token: str,
        accounts: list[AccountSetup],
        delivery_timeout_s: float = 5.0,
        version: str = CHATWOOT_VERSION,
        bot_token: str | None = None,
        message_first: bool = False,
        leak_canaries: bool = False,
        meta_app_secrets: dict[str, str] | None = None,
        fault_on: Callable[[str], bool] | None = None,
    ) -> None:
        """`meta_app_secrets`: the Meta app secret Chatwoot checks events with, per channel
        ("instagram", "whatsapp"); `fault_on`: whether a named fault is on (the sandbox's)."""
        if not api_token:
            raise ValueError("the Chatwoot double needs an api_token")
        self.build = Build(version)
        self._store = Store(accounts, self.build)
        self._store.message_first = message_first
        if leak_canaries:
            for number, account in enumerate(accounts):
                self._store.add_webhook(account.id, _canary_webhook(CANARY_WEBHOOK_ID + number))
        self._deliveries = Deliveries(self._store, timeout_s=delivery_timeout_s, on_failed=self._failed)
        self._events = Events(self._store, self._deliveries)
        api = ApplicationApi(self._store, self._events, api_token, bot_token)
        channels = MetaChannels(
            self._store, self._events, self.build, dict(meta_app_secrets or {}), fault_on or (lambda _: False)
        )
        self._app = Starlette(
            routes=[
                *api.routes(),
                *channels.routes(),
                Route("/api", self._api_index, methods=["GET"]),
                Route("/__double/deliveries", self._deliveries_route, methods=["GET"]),
            ]
        )

    @property
    def agent(self) -> User:
        return self._store.agent

    def app(self) -> Starlette:
        return self._app

    def close(self) -> None:
        """Stop the delivery worker (pending deliveries are still attempted) and the client."""
        self._deliveries.close()

    def wait_idle(self, timeout: float) -> None:
        """Return once the delivery queue is drained; raise `SandboxError` after `timeout`."""
        if not self._deliveries.wait_idle(timeout):
            raise SandboxError(
                f"the Chatwoot double still had {self._deliveries.pending} webhook deliveries "
                f"queued after {timeout:.1f}s; is a receiver hanging?"
            )

    def add_webhook(self, account_id: int, hook: WebhookSetup) -> None:
        """Register a seeded webhook after start (its target may start after this double, e.g.
        n8n, whose URL is known only once it serves). Kept by `reset()`."""
        self._store.add_webhook(account_id, hook)

    def add_automation_rule(self, account_id: int, rule: AutomationRuleSetup) -> None:
        """An automation rule that sends matching message events to a webhook (e.g. n8n's)."""
        with self._store.lock:
            self._events.add_automation_rule(account_id, rule)

    def deliveries(self) -> list[Delivery]:
        with self._store.lock:
            return self._deliveries.attempted()

    def reset(self) -> None:
        """Back to the setup (same ids, secrets and webhooks); queued deliveries are dropped."""
        with self._store.lock:
            self._store.reset()
            self._deliveries.forget()

    def _failed(self, message_id: int, error: str) -> None:
        self._events.mark_failed(message_id, error)

    async def _api_index(self, request: Request) -> Response:
        """`ApiController#index`: no authentication."""
        return RailsJSON(
            {
                "version": self.build.version,
                "timestamp": now().strftime("%Y-%m-%d %H:%M:%S"),
                "queue_services": "ok",
                "data_services": "ok",
            }
        )

    async def _deliveries_route(self, request: Request) -> Response:
        with self._store.lock:
            entries = [d.as_dict() for d in self._deliveries.attempted()]
        return RailsJSON({"deliveries": entries, "pending": self._deliveries.pending})
