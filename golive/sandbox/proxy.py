"""A reverse proxy in front of a server the sandbox does not write (the real n8n), so that its
latency can be added like the doubles' (golive.sandbox.latency). Started only when the sandbox
is asked for n8n latency at start: otherwise the suite talks to n8n directly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

# Hop-by-hop headers (RFC 9110 §7.6.1) and the ones httpx sets itself.
_DROPPED = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host"}
)


def proxy_app(upstream: str) -> ASGIApp:
    """An ASGI app forwarding every request to `upstream` as it came. Its client lives on the
    serving thread's event loop and ends with the sandbox process."""
    client = httpx.AsyncClient(base_url=upstream, timeout=httpx.Timeout(300.0), follow_redirects=False)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _DROPPED]
        outgoing = client.build_request(
            request.method,
            request.url.path,
            params=request.url.query or None,
            headers=headers,
            content=await request.body(),
        )
        answer = await client.send(outgoing, stream=True)

        async def body() -> AsyncIterator[bytes]:
            async for chunk in answer.aiter_raw():
                yield chunk

        kept = {k: v for k, v in answer.headers.items() if k.lower() not in _DROPPED}
        response = StreamingResponse(
            body(), status_code=answer.status_code, headers=kept, background=BackgroundTask(answer.aclose)
        )
        await response(scope, receive, send)

    return app
