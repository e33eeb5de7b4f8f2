"""The CRM double as one ASGI app (webhook + public API + web pages), and the schema of its
database."""

from __future__ import annotations

from importlib import resources

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from golive.sandbox.crm.openapi_spec import API_PREFIX
from golive.sandbox.crm.pages import Pages
from golive.sandbox.crm.public_api import PublicApi
from golive.sandbox.crm.users import Sessions
from golive.sandbox.crm.webhook import WebhookHandler
from golive.sandbox.db import Pool
from golive.sandbox.faults import FaultState


async def _not_routed(request: Request, exc: Exception) -> Response:
    """A public API URL no route serves, or a method it does not take: the API's JSON error
    (with `Allow` on a 405); elsewhere Starlette's plain answer."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    if not request.url.path.startswith(API_PREFIX + "/"):
        return PlainTextResponse("Not Found" if status == 404 else "Method Not Allowed", status, headers)
    error = "Not found" if status == 404 else "Method not allowed"
    return JSONResponse(
        {"error": error, "code": "NOT_FOUND" if status == 404 else "BAD_REQUEST"}, status, headers
    )


def crm_app(pool: Pool, faults: FaultState, webhook_secret: str | None) -> Starlette:
    app = Starlette(exception_handlers={404: _not_routed, 405: _not_routed})
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
