"""The CRM double's public API v1 subset (crm-contract §5), with the intended v2 behaviour: the
routes, API-key auth (one transaction per call) and the organisation and board endpoints.
Contacts and deals are in `api_contacts` and `api_deals`."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from golive.sandbox.crm import api_activities, api_contacts
from golive.sandbox.crm.api_common import ApiFailure, Handler, find_board
from golive.sandbox.crm.api_deals import Deals
from golive.sandbox.crm.inputs import BadInput, log_header, parse_json, unstorable_text
from golive.sandbox.db import Conn, Pool
from golive.sandbox.faults import FaultState

log = logging.getLogger("golive.sandbox.crm")
MAX_BODY_BYTES = 1_000_000


class PublicApi:
    def __init__(self, pool: Pool, faults: FaultState) -> None:
        self.pool = pool
        self.faults = faults
        self.deals = Deals(faults)

    def routes(self) -> list[Route]:
        p = "/api/public/v1"
        return [
            Route(f"{p}/openapi.json", self.openapi, methods=["GET"]),
            Route(f"{p}/me", self._wrap(self.me), methods=["GET"]),
            Route(f"{p}/boards", self._wrap(self.boards), methods=["GET"]),
            Route(f"{p}/boards/{{board}}/stages", self._wrap(self.stages), methods=["GET"]),
            Route(f"{p}/contacts", self._wrap(self.contacts), methods=["GET", "POST"]),
            Route(
                f"{p}/contacts/{{contact}}/identifiers",
                self._wrap(api_contacts.identifiers),
                methods=["GET", "POST"],
            ),
            Route(f"{p}/deals", self._wrap(self.deals.list_or_create), methods=["GET", "POST"]),
            Route(f"{p}/deals/move-stage", self._wrap(self.deals.move_legacy), methods=["POST"]),
            Route(
                f"{p}/deals/move-stage-by-identity",
                self._wrap(self.deals.move_by_identity),
                methods=["POST"],
            ),
            Route(f"{p}/deals/{{deal}}", self._wrap(self.deals.deal), methods=["GET", "PATCH"]),
            Route(f"{p}/deals/{{deal}}/move-stage", self._wrap(self.deals.move_by_id), methods=["POST"]),
            Route(f"{p}/deals/{{deal}}/mark-won", self._wrap(self.deals.mark_won), methods=["POST"]),
            Route(f"{p}/deals/{{deal}}/mark-lost", self._wrap(self.deals.mark_lost), methods=["POST"]),
            Route(f"{p}/activities", self._wrap(api_activities.list_or_create), methods=["GET", "POST"]),
        ]

    def _wrap(self, handler: Handler) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def endpoint(request: Request) -> JSONResponse:
            body: Any = None
            if request.method in ("POST", "PATCH"):
                refused, body = await self._body(request)
                if refused is not None:
                    return refused
            if not self.faults.on("api-unvalidated-input"):
                if not _utf8_url(request):
                    return JSONResponse(
                        {"error": "The URL is not valid UTF-8 once decoded", "code": "BAD_REQUEST"}, 400
                    )
                problem = unstorable_text(
                    {"query": dict(request.query_params), "path": dict(request.path_params), "body": body}
                )
                if problem:
                    path, why = problem
                    return JSONResponse(
                        {"error": f"Invalid input: {path} {why}", "code": "VALIDATION_ERROR"}, 422
                    )
            key = request.headers.get("x-api-key")
            try:
                status, payload = await run_in_threadpool(self._run, handler, key, request, body)
            except ApiFailure as failure:
                if failure.status >= 500:
                    line = f"public API {request.method} {request.url.path}: {failure.body.get('error')}"
                    log.error("%s", line)
                    return JSONResponse(failure.body, failure.status, headers=log_header(line))
                return JSONResponse(failure.body, failure.status)
            except Exception as exc:
                line = f"public API {request.method} {request.url.path} failed: {type(exc).__name__}: {exc}"
                log.exception("%s", line)
                return JSONResponse(
                    {"error": "Internal server error", "code": "DB_ERROR"}, 500, headers=log_header(line)
                )
            return JSONResponse(payload, status)

        return endpoint

    async def _body(self, request: Request) -> tuple[JSONResponse | None, Any]:
        """The JSON body, or the 4xx that refuses it (size, content type, syntax)."""
        raw = await request.body()
        if self.faults.on("api-unvalidated-input"):
            try:
                return None, json.loads(raw) if raw else {}
            except ValueError:
                return JSONResponse({"error": "Invalid JSON", "code": "BAD_REQUEST"}, 400), None
        if len(raw) > MAX_BODY_BYTES:
            return JSONResponse({"error": "Payload too large", "code": "BAD_REQUEST"}, 413), None
        if not raw:
            return None, {}
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return (
                JSONResponse({"error": "Content-Type must be application/json", "code": "BAD_REQUEST"}, 415),
                None,
            )
        try:
            return None, parse_json(raw)
        except BadInput as exc:
            return JSONResponse({"error": f"Invalid JSON ({exc.problem})", "code": "BAD_REQUEST"}, 400), None

    def _run(
        self, handler: Handler, key: str | None, request: Request, body: Any
    ) -> tuple[int, dict[str, Any]]:
        if not key and not self.faults.on("api-key-not-required"):
            raise ApiFailure(401, "Missing X-Api-Key", "AUTH_MISSING")
        with self.pool.transaction() as conn:
            if not key:  # the fault: an anonymous call is served as the oldest organisation
                first = conn.execute(
                    "SELECT id::text AS org FROM organizations ORDER BY created_at, id LIMIT 1"
                ).fetchone()
                assert first is not None
                request.state.key_prefix = ""
                return handler(conn, str(first["org"]), request, body)
            row = conn.execute(
                "UPDATE api_keys SET last_used_at = now() WHERE key_hash = %s AND revoked_at IS NULL "
                "RETURNING organization_id::text AS org, key_prefix",
                (hashlib.sha256(key.encode()).hexdigest(),),
            ).fetchone()
            if row is None:
                raise ApiFailure(401, "Invalid API key", "AUTH_INVALID")
            request.state.key_prefix = row["key_prefix"]
            return handler(conn, str(row["org"]), request, body)

    async def openapi(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "openapi": "3.1.2",
                "info": {"title": "LagostaCRM public API (sandbox double)", "version": "1.0.0"},
                "components": {
                    "securitySchemes": {"ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}}
                },
                "security": [{"ApiKeyAuth": []}],
                "paths": {r.path.removeprefix("/api/public/v1"): {} for r in self.routes()},
            }
        )

    def contacts(self, conn: Conn, org: str, request: Request, body: Any) -> tuple[int, dict[str, Any]]:
        return api_contacts.list_or_upsert(conn, org, request, body, self.faults)

    # --- organisation and boards -----------------------------------------------------------

    def me(self, conn: Conn, org: str, request: Request, _: Any) -> tuple[int, dict[str, Any]]:
        row = conn.execute("SELECT name FROM organizations WHERE id = %s", (org,)).fetchone()
        assert row is not None
        return 200, {
            "data": {
                "organization_id": org,
                "organization_name": row["name"],
                "api_key_prefix": request.state.key_prefix,
            }
        }

    def boards(self, conn: Conn, org: str, request: Request, _: Any) -> tuple[int, dict[str, Any]]:
        key = request.query_params.get("key")
        rows = conn.execute(
            "SELECT id::text, key, name, description, position, is_default FROM boards "
            "WHERE organization_id = %s AND deleted_at IS NULL AND (%s::text IS NULL OR key = %s) "
            "ORDER BY position",
            (org, key, key),
        ).fetchall()
        return 200, {"data": rows, "nextCursor": None}

    def stages(self, conn: Conn, org: str, request: Request, _: Any) -> tuple[int, dict[str, Any]]:
        board = find_board(conn, org, request.path_params["board"])
        rows = conn.execute(
            'SELECT id::text, COALESCE(label, name) AS label, color, "order" FROM board_stages '
            'WHERE board_id = %s ORDER BY "order"',
            (board["id"],),
        ).fetchall()
        return 200, {"data": rows}


def _utf8_url(request: Request) -> bool:
    """Percent-escapes must decode to UTF-8 (a server that swaps bad bytes for U+FFFD answers
    a different question than the one asked)."""
    raw_path = request.scope.get("raw_path") or b""
    query = request.scope.get("query_string") or b""
    try:
        unquote_to_bytes(bytes(raw_path)).decode("utf-8")
        unquote_to_bytes(bytes(query).replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
