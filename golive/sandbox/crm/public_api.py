"""The CRM double's public API v1 (crm-contract §5), with the intended v2 behaviour: the routes of
the document it serves (`openapi_spec`), API-key auth (one transaction per call), the request
validation that document drives (`api_validation`), and the organisation and board endpoints.
Contacts, companies, deals and activities are in `api_contacts`, `api_companies`, `api_deals` and
`api_activities`."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.concurrency import run_in_threadpool
from starlette.convertors import StringConvertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from golive.sandbox.crm import api_activities, api_companies, api_contacts
from golive.sandbox.crm.api_common import BOARD_COLUMNS, ApiFailure, Handler, find_board, invalid, page
from golive.sandbox.crm.api_deals import Deals
from golive.sandbox.crm.api_validation import body_problem, query_problem
from golive.sandbox.crm.inputs import BadInput, log_header, parse_json, unstorable_text
from golive.sandbox.crm.openapi_spec import API_PREFIX, openapi_document
from golive.sandbox.db import Conn, Pool
from golive.sandbox.faults import FaultState

log = logging.getLogger("golive.sandbox.crm")
MAX_BODY_BYTES = 1_000_000


class _DealSegment(StringConvertor):
    """`/deals/{id}` never takes the action routes' names (`move-stage`, …): a PATCH there is a
    405 of that route, as the real router answers, not a deal lookup."""

    regex = r"(?!move-stage(?:-by-identity)?$)[^/]+"


register_url_convertor("deal", _DealSegment())


class PublicApi:
    def __init__(self, pool: Pool, faults: FaultState) -> None:
        self.pool = pool
        self.faults = faults
        self.deals = Deals(faults)

    def routes(self) -> list[Route]:
        p = API_PREFIX
        deals = self.deals
        table: list[tuple[str, str, Handler, list[str]]] = [
            ("/me", "/me", self.me, ["GET"]),
            ("/boards", "/boards", self.boards, ["GET"]),
            ("/boards/{board}", "/boards/{boardKeyOrId}", self.board, ["GET"]),
            ("/boards/{board}/stages", "/boards/{boardKeyOrId}/stages", self.stages, ["GET"]),
            ("/companies", "/companies", api_companies.list_or_upsert, ["GET", "POST"]),
            ("/companies/{company}", "/companies/{companyId}", api_companies.company, ["GET", "PATCH"]),
            ("/contacts", "/contacts", self.contacts, ["GET", "POST"]),
            ("/contacts/{contact}", "/contacts/{contactId}", api_contacts.contact, ["GET", "PATCH"]),
            (
                "/contacts/{contact}/identifiers",
                "/contacts/{contactId}/identifiers",
                api_contacts.identifiers,
                ["GET", "POST"],
            ),
            ("/deals", "/deals", deals.list_or_create, ["GET", "POST"]),
            ("/deals/move-stage", "/deals/move-stage", deals.move_legacy, ["POST"]),
            (
                "/deals/move-stage-by-identity",
                "/deals/move-stage-by-identity",
                deals.move_by_identity,
                ["POST"],
            ),
            ("/deals/{deal:deal}", "/deals/{dealId}", deals.deal, ["GET", "PATCH"]),
            ("/deals/{deal}/move-stage", "/deals/{dealId}/move-stage", deals.move_by_id, ["POST"]),
            ("/deals/{deal}/mark-won", "/deals/{dealId}/mark-won", deals.mark_won, ["POST"]),
            ("/deals/{deal}/mark-lost", "/deals/{dealId}/mark-lost", deals.mark_lost, ["POST"]),
            ("/activities", "/activities", api_activities.list_or_create, ["GET", "POST"]),
        ]
        return [
            Route(f"{p}/openapi.json", self.openapi, methods=["GET"]),
            *(
                Route(f"{p}{path}", self._wrap(handler, f"{p}{documented}"), methods=methods)
                for path, documented, handler, methods in table
            ),
        ]

    def _wrap(self, handler: Handler, documented: str) -> Callable[[Request], Awaitable[JSONResponse]]:
        """The endpoint: body, then (after the API key, as the real routes) what refuses the
        request, then the handler in one transaction."""

        async def endpoint(request: Request) -> JSONResponse:
            body: Any = None
            refusal: ApiFailure | None = None
            if request.method in ("POST", "PATCH"):
                refusal, body, sent = await self._body(request)
                if refusal is None:
                    problem = body_problem(documented, request.method, body, sent)
                    if problem:  # the real routes say only "Invalid payload"; the log says why
                        log.info(
                            "public API %s %s: invalid payload (%s)", request.method, documented, problem
                        )
                        refusal = invalid()
                if not sent:
                    body = {}
            refusal = refusal or self._input_refusal(request, documented, body)
            key = request.headers.get("x-api-key")
            try:
                status, payload = await run_in_threadpool(self._run, handler, key, request, body, refusal)
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

    def _input_refusal(self, request: Request, documented: str, body: Any) -> ApiFailure | None:
        """A URL or query string the API refuses (the document's parameters, text no column holds)."""
        query = dict(request.query_params)
        problem = query_problem(documented, request.method, query)
        if problem:
            return invalid(f"Invalid query: {problem}")
        if self.faults.on("api-unvalidated-input"):
            return None
        if not _utf8_url(request):
            return ApiFailure(400, "The URL is not valid UTF-8 once decoded", "BAD_REQUEST")
        found = unstorable_text({"query": query, "path": dict(request.path_params), "body": body})
        if found:
            path, why = found
            return invalid(f"Invalid input: {path} {why}")
        return None

    async def _body(self, request: Request) -> tuple[ApiFailure | None, Any, bool]:
        """(refusal, JSON body, whether one was sent): size, content type and syntax."""
        raw = await request.body()
        if self.faults.on("api-unvalidated-input"):
            try:
                return None, json.loads(raw) if raw else None, bool(raw)
            except ValueError:
                return ApiFailure(400, "Invalid JSON", "BAD_REQUEST"), None, True
        if len(raw) > MAX_BODY_BYTES:
            return ApiFailure(413, "Payload too large", "BAD_REQUEST"), None, True
        if not raw:
            return None, None, False
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return ApiFailure(415, "Content-Type must be application/json", "BAD_REQUEST"), None, True
        try:
            return None, parse_json(raw), True
        except BadInput as exc:
            return ApiFailure(400, f"Invalid JSON ({exc.problem})", "BAD_REQUEST"), None, True

    def _run(
        self, handler: Handler, key: str | None, request: Request, body: Any, refusal: ApiFailure | None
    ) -> tuple[int, dict[str, Any]]:
        if not (key or "").strip() and not self.faults.on("api-key-not-required"):
            raise ApiFailure(401, "Missing X-Api-Key", "AUTH_MISSING")
        with self.pool.transaction() as conn:
            if not key:  # the fault: an anonymous call is served as the oldest organisation
                first = conn.execute(
                    "SELECT id::text AS org FROM organizations ORDER BY created_at, id LIMIT 1"
                ).fetchone()
                assert first is not None
                request.state.key_prefix = ""
                if refusal is not None:
                    raise refusal
                return handler(conn, str(first["org"]), request, body)
            row = conn.execute(
                "UPDATE api_keys SET last_used_at = now() WHERE key_hash = %s AND revoked_at IS NULL "
                "RETURNING organization_id::text AS org, key_prefix",
                (hashlib.sha256(key.encode()).hexdigest(),),
            ).fetchone()
            if row is None:
                raise ApiFailure(401, "Invalid API key", "AUTH_INVALID")
            request.state.key_prefix = row["key_prefix"]
            if refusal is not None:
                raise refusal
            return handler(conn, str(row["org"]), request, body)

    async def openapi(self, request: Request) -> JSONResponse:
        """The document, as the real CRM serves its own: no key needed, lightly cached."""
        return JSONResponse(openapi_document(), headers={"Cache-Control": "public, max-age=60"})

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
        q = request.query_params
        key = (q.get("key") or "").strip() or None
        text = (q.get("q") or "").strip()
        rows = conn.execute(
            f"SELECT {BOARD_COLUMNS} FROM boards WHERE organization_id = %s AND deleted_at IS NULL "
            "AND (%s::text IS NULL OR key = %s) "
            "AND (%s = '' OR name ILIKE %s OR key ILIKE %s) ORDER BY position, created_at",
            (org, key, key, text, f"%{text}%", f"%{text}%"),
        ).fetchall()
        return 200, page(rows, q.get("limit"), q.get("cursor"))

    def board(self, conn: Conn, org: str, request: Request, _: Any) -> tuple[int, dict[str, Any]]:
        found = find_board(conn, org, request.path_params["board"])
        row = conn.execute(f"SELECT {BOARD_COLUMNS} FROM boards WHERE id = %s", (found["id"],)).fetchone()
        assert row is not None
        return 200, {"data": row}

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
