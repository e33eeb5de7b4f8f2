"""The sandbox's control API: switch fault profiles and the outage at run time, for the whole
sandbox or (the faults of an organisation's own n8n and model) for one organisation.

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


def control_app(
    faults: FaultState,
    token: str,
    on_change: Callable[[frozenset[str], frozenset[str]], None],
    reset: Callable[[], None],
    organisations: frozenset[str] = frozenset(),
) -> Starlette:
    def authorised(request: Request) -> bool:
        given = request.headers.get("x-golive-control-token", "")
        return hmac.compare_digest(given.encode(), token.encode())

    async def get_faults(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "active": sorted(faults.active),
                "by_organisation": faults.scoped,
                "outage": faults.outage,
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

    async def put_outage(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"error": "bad control token"}, 401)
        try:
            body = json.loads(await request.body())
            on, inboxes = body.get("on"), body.get("inboxes", [])
        except (ValueError, AttributeError):
            on, inboxes = None, []
        if (
            not isinstance(on, bool)
            or not isinstance(inboxes, list)
            or not all(isinstance(i, int) for i in inboxes)
        ):
            return JSONResponse({"error": 'expected {"on": true|false, "inboxes": [ids]}'}, 400)
        faults.set_outage(on, frozenset(inboxes))
        return JSONResponse({"outage": faults.outage, "inboxes": sorted(inboxes) if on else []})

    async def post_reset(request: Request) -> JSONResponse:
        """Back to the seed data (same ids and keys), faults off: one clean slate per kill-matrix
        run, in milliseconds instead of a new cluster."""
        if not authorised(request):
            return JSONResponse({"error": "bad control token"}, 401)
        previous = faults.clear()
        faults.set_outage(False)
        on_change(previous, faults.active)
        await run_in_threadpool(reset)
        return JSONResponse({"reset": True})

    return Starlette(
        routes=[
            Route("/reset", post_reset, methods=["POST"]),
            Route("/faults", get_faults, methods=["GET"]),
            Route("/faults", put_faults, methods=["PUT"]),
            Route("/outage", put_outage, methods=["PUT"]),
        ]
    )
