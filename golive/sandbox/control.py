"""The sandbox's control API: switch fault profiles at run time, for the whole sandbox or (the
faults of an organisation's own n8n and model) for one organisation, and each organisation's outage.

Guarded by a token (a sandbox secret). Not part of any real system; profiles point
the suite at it as `[control] url`, which is what the `@needs_control` tag checks.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from golive.errors import SandboxError
from golive.sandbox.faults import BY_NAME, CATALOGUE, FaultState
from golive.sandbox.latency import Delay, Latency, parse_delay


def control_app(
    faults: FaultState,
    token: str,
    on_change: Callable[[frozenset[str], frozenset[str]], None],
    reset: Callable[[], None],
    *,
    backfill: Callable[[], dict[str, object]] | None = None,
    organisations: frozenset[str] = frozenset(),
    latency: Latency | None = None,
) -> Starlette:
    delays = latency or Latency()

    def authorised(request: Request) -> bool:
        given = request.headers.get("x-golive-control-token", "")
        return hmac.compare_digest(given.encode(), token.encode())

    async def get_faults(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "active": sorted(faults.active),
                "by_organisation": faults.scoped,
                "outages": outages_body(),
                "catalogue": [fault.as_dict() for fault in CATALOGUE],
            }
        )

    async def put_faults(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"error": "bad control token"}, 401)
        expected = 'expected {"active": [names], "organisation": slug (optional)}'
        try:
            body = json.loads(await request.body())
            names, organisation = body.get("active"), body.get("organisation")
        except (ValueError, AttributeError):
            return JSONResponse({"error": expected}, 400)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return JSONResponse({"error": expected}, 400)
        if organisation is not None and not isinstance(organisation, str):
            return JSONResponse({"error": expected}, 400)
        unknown = [n for n in names if n not in BY_NAME]
        if unknown:
            return JSONResponse(
                {"error": f"unknown fault(s): {', '.join(unknown)}", "known": sorted(BY_NAME)}, 400
            )
        if organisation is not None and organisation not in organisations:
            return JSONResponse({"error": f"unknown organisation {organisation!r}"}, 400)
        try:
            previous = faults.set(names, organisation)
            on_change(previous, faults.active)
        except (ValueError, SandboxError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse({"active": sorted(faults.active), "by_organisation": faults.scoped})

    def outages_body() -> dict[str, list[int]]:
        return {owner: sorted(inboxes) for owner, inboxes in sorted(faults.outages().items())}

    async def get_outages(request: Request) -> JSONResponse:
        return JSONResponse({"outages": outages_body()})

    async def put_outage(request: Request) -> JSONResponse:
        """Start (or change) the outage of one owner: the CRM webhook down for its inboxes."""
        if not authorised(request):
            return JSONResponse({"error": "bad control token"}, 401)
        try:
            inboxes = json.loads(await request.body()).get("inboxes")
        except (ValueError, AttributeError):
            inboxes = None
        if not isinstance(inboxes, list) or not inboxes or not all(type(i) is int for i in inboxes):
            return JSONResponse({"error": 'expected {"inboxes": [ids]} with at least one inbox id'}, 400)
        faults.start_outage(request.path_params["owner"], frozenset(inboxes))
        return JSONResponse({"outages": outages_body()})

    async def delete_outage(request: Request) -> JSONResponse:
        """End one owner's outage; everyone else's stays."""
        if not authorised(request):
            return JSONResponse({"error": "bad control token"}, 401)
        faults.end_outage(request.path_params["owner"])
        return JSONResponse({"outages": outages_body()})

    async def post_reset(request: Request) -> JSONResponse:
        """Back to the seed data (same ids and keys), faults off: one clean slate per kill-matrix
        run, in milliseconds instead of a new cluster."""
        if not authorised(request):
            return JSONResponse({"error": "bad control token"}, 401)
        previous = faults.clear()  # faults, per-organisation faults and outages
        on_change(previous, faults.active)
        await run_in_threadpool(reset)
        return JSONResponse({"reset": True})

    async def post_backfill(request: Request) -> JSONResponse:
        """Run the WhatsApp identity backfill now (the faulty variant while its fault is on)."""
        if not authorised(request):
            return JSONResponse({"error": "bad control token"}, 401)
        if backfill is None:
            return JSONResponse({"error": "this sandbox has no backfill"}, 404)
        return JSONResponse({"organisations": await run_in_threadpool(backfill)})

    async def get_latency(request: Request) -> JSONResponse:
        return JSONResponse({"latency": delays.describe()})

    async def put_latency(request: Request) -> JSONResponse:
        """Replace every system's latency: {"crm": "150ms", "model": "2-5s"} ({} ends it)."""
        if not authorised(request):
            return JSONResponse({"error": "bad control token"}, 401)
        expected = 'expected {"<system>": "<delay>", …}, e.g. {"crm": "150ms", "model": "2-5s"}'
        try:
            body = json.loads(await request.body())
            if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
                raise ValueError(expected)
            parsed: dict[str, Delay] = {str(k): parse_delay(v) for k, v in body.items()}
            delays.set(parsed)
        except ValueError as exc:
            return JSONResponse({"error": str(exc) if str(exc) else expected}, 400)
        return JSONResponse({"latency": delays.describe()})

    return Starlette(
        routes=[
            Route("/reset", post_reset, methods=["POST"]),
            Route("/backfill", post_backfill, methods=["POST"]),
            Route("/faults", get_faults, methods=["GET"]),
            Route("/faults", put_faults, methods=["PUT"]),
            Route("/outages", get_outages, methods=["GET"]),
            Route("/outages/{owner}", put_outage, methods=["PUT"]),
            Route("/outages/{owner}", delete_outage, methods=["DELETE"]),
            Route("/latency", get_latency, methods=["GET"]),
            Route("/latency", put_latency, methods=["PUT"]),
        ]
    )
