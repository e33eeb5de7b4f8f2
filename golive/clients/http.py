"""HTTP plumbing shared by the clients: recording every exchange, and building clients.

Every client is built by `build_client`, whose event hooks hand each request and
response to the active `ExchangeLog`. The plugin swaps the log per scenario and
attaches it to the evidence; step code never records anything itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from golive.errors import ApiError, TargetUnreachable

BODY_LIMIT = 20_000  # characters of each body kept as evidence
_HIDDEN_HEADERS = {"content-length", "accept-encoding", "connection", "user-agent", "host"}


@dataclass(frozen=True)
class Exchange:
    system: str
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int
    response_headers: dict[str, str]
    response_body: str
    elapsed_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": self.request_headers,
                "body": self.request_body,
            },
            "response": {
                "status": self.status,
                "headers": self.response_headers,
                "body": self.response_body,
            },
            "elapsed_ms": round(self.elapsed_ms, 2),
        }


@dataclass
class ExchangeLog:
    """Exchanges of one scenario, in order. Thread-safe: deliveries may run concurrently."""

    exchanges: list[Exchange] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def drain(self) -> list[Exchange]:
        with self._lock:
            taken, self.exchanges = self.exchanges, []
        return taken


_active = ExchangeLog()
_active_lock = threading.Lock()


def active_log() -> ExchangeLog:
    return _active


@contextmanager
def recording(log: ExchangeLog) -> Iterator[ExchangeLog]:
    """Route every client's exchanges to `log` for the duration of the block."""
    global _active
    with _active_lock:
        previous, _active = _active, log
    try:
        yield log
    finally:
        with _active_lock:
            _active = previous


def _text(content: bytes) -> str:
    text = content.decode("utf-8", errors="replace")
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + f"… [{len(text)} chars]"


def _headers(headers: httpx.Headers) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _HIDDEN_HEADERS}


def build_client(
    system: str,
    *,
    base_url: str,
    headers: Mapping[str, str] | None = None,
    timeout: float,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """An httpx.Client whose exchanges are recorded (with timing) into the active log."""

    def on_request(request: httpx.Request) -> None:
        request.extensions["golive_started"] = time.perf_counter()

    def on_response(response: httpx.Response) -> None:
        response.read()
        request = response.request
        started = request.extensions.get("golive_started", time.perf_counter())
        active_log().add(
            Exchange(
                system=system,
                method=request.method,
                url=str(request.url),
                request_headers=_headers(request.headers),
                request_body=_text(request.content),
                status=response.status_code,
                response_headers=_headers(response.headers),
                response_body=_text(response.content),
                elapsed_ms=(time.perf_counter() - started) * 1000,
            )
        )

    return httpx.Client(
        base_url=base_url,
        headers=dict(headers or {}),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        transport=transport,
        event_hooks={"request": [on_request], "response": [on_response]},
    )


def send(client: httpx.Client, organisation: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """`client.request` with transport failures turned into a clear `TargetUnreachable`."""
    try:
        return client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise TargetUnreachable(
            f"no answer within {client.timeout.read}s ({type(exc).__name__}); is the target up?",
            organisation=organisation,
            method=method,
            url=str(client.base_url.join(url)),
        ) from None
    except httpx.TransportError as exc:
        raise TargetUnreachable(
            f"cannot reach the target ({type(exc).__name__}: {exc}); check the URL in the profile",
            organisation=organisation,
            method=method,
            url=str(client.base_url.join(url)),
        ) from None


def expect(response: httpx.Response, organisation: str, *statuses: int) -> Any:
    """The JSON body of a response whose status is one of `statuses`, else an ApiError."""
    if response.status_code not in statuses:
        raise ApiError(
            f"unexpected answer (wanted {'/'.join(map(str, statuses))})",
            organisation=organisation,
            method=response.request.method,
            url=str(response.request.url),
            status=response.status_code,
            body_excerpt=response.text[:300],
        )
    try:
        return response.json()
    except ValueError:
        raise ApiError(
            "the answer is not JSON",
            organisation=organisation,
            method=response.request.method,
            url=str(response.request.url),
            status=response.status_code,
            body_excerpt=response.text[:300],
        ) from None
