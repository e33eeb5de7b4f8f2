"""The CRM double as one ASGI app (webhook + public API + web pages), and the schema of its
database."""

from __future__ import annotations

from importlib import resources

from starlette.applications import Starlette
from starlette.routing import Route

from golive.sandbox.crm.pages import Pages
from golive.sandbox.crm.public_api import PublicApi
from golive.sandbox.crm.users import Sessions
from golive.sandbox.crm.webhook import WebhookHandler
from golive.sandbox.db import Pool
from golive.sandbox.faults import FaultState


def crm_app(pool: Pool, faults: FaultState, webhook_secret: str | None) -> Starlette:
    app = Starlette()
    hook = WebhookHandler(pool, faults, webhook_secret)
    app.router.routes.extend(
        [
            Route("/api/chatwoot/webhook", hook.get, methods=["GET"]),
            Route("/api/chatwoot/webhook", hook.post, methods=["POST"]),
            *PublicApi(pool, faults).routes(),
            *Pages(pool, faults, Sessions(pool)).routes(),
        ]
    )
    return app


def schema_sql() -> str:
    """The LagostaCRM tables (`schema.sql`, shipped as package data)."""
    return resources.files("golive.sandbox.crm").joinpath("schema.sql").read_text(encoding="utf-8")
