"""HTTP plumbing shared by the clients: recording every exchange, and building clients.

Every client is built by `build_client`, whose event hooks hand each request and
response to the active `ExchangeLog`. The plugin swaps the log per scenario and
attaches it to the evidence; step code never records anything itself.

An exchange is redacted by name the moment it is recorded (headers, query parameters and
JSON or form fields named like a secret), so a secret first seen in a response — the
signing secrets in Chatwoot's webhook list — is known to the redactor before anything is
written, and is redacted by value everywhere after.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

import golive.secrets as golive_secrets
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

    def as_dict(self, *, parse_bodies: bool = False) -> dict[str, Any]:
        """The exchange as evidence; with `parse_bodies`, JSON bodies become JSON values (so an
        attachment shows them pretty-printed, not as one escaped string)."""
        show = _parsed if parse_bodies else str
        return {
            "system": self.system,
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": self.request_headers,
                "body": show(self.request_body),
            },
            "response": {
                "status": self.status,
                "headers": self.response_headers,
                "body": show(self.response_body),
            },
            "elapsed_ms": round(self.elapsed_ms, 2),
        }

    @property
    def title(self) -> str:
        """`POST /deals/{id}/move-stage → 200 (CRM API)`: the request as a person names it."""
        path = urllib.parse.urlsplit(self.url).path
        for pattern in _API_PREFIXES.get(self.system, ()):
            path = re.sub(pattern, "", path, count=1) or "/"
        path = "/".join("{id}" if _ID_SEGMENT.fullmatch(segment) else segment for segment in path.split("/"))
        event = ""
        if self.system.endswith("webhook") and self.method == "POST":
            body = _parsed(self.request_body)
            if isinstance(body, dict) and isinstance(body.get("event"), str):
                event = f" {body['event']}"
        label = _SYSTEM_LABELS.get(self.system, self.system)
        return f"{self.method} {path}{event} → {self.status} ({label})"


_SYSTEM_LABELS = {
    "crm": "CRM API",
    "crm-webhook": "CRM webhook",
    "n8n": "n8n API",
    "n8n-webhook": "n8n webhook",
    "chatwoot": "Chatwoot API",
    "chatwoot-channel": "Chatwoot channel webhook, as Meta",
    "sandbox-control": "sandbox control",
}
_API_PREFIXES = {
    "crm": (r"^/api/public/v1",),
    "chatwoot": (r"^/api/v1/accounts/\d+",),
    "n8n": (r"^/api/v1",),
}
_ID_SEGMENT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\d+")


def _parsed(body: str) -> Any:
    """A JSON body as its document (shown pretty-printed in the evidence), anything else as text."""
    if body[:1] in ("{", "["):
        try:
            document = json.loads(body)
            json.dumps(document)  # what can be read back must also be written (depth)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to re-serialise
            return body
        return document
    return body


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


def _text(content: bytes, content_type: str, origin: str) -> str:
    """The body as evidence: redacted by name first (a cut JSON body could not be parsed),
    then cut to BODY_LIMIT."""
    text = golive_secrets.redact_body(content.decode("utf-8", errors="replace"), content_type, origin)
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + f"… [{len(text)} chars]"


def _headers(headers: httpx.Headers, origin: str) -> dict[str, str]:
    shown = {k: v for k, v in headers.items() if k.lower() not in _HIDDEN_HEADERS}
    return golive_secrets.redact_headers(shown, origin)


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
        elapsed_ms = (time.perf_counter() - started) * 1000
        active_log().add(
            Exchange(
                system=system,
                method=request.method,
                url=golive_secrets.redact_url(str(request.url), system),
                request_headers=_headers(request.headers, system),
                request_body=_text(request.content, request.headers.get("content-type", ""), system),
                status=response.status_code,
                response_headers=_headers(response.headers, system),
                response_body=_text(response.content, response.headers.get("content-type", ""), system),
                elapsed_ms=elapsed_ms,
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
            cause=f"no answer within {client.timeout.read}s, {type(exc).__name__}",
            organisation=organisation,
            method=method,
            url=str(client.base_url.join(url)),
        ) from None
    except httpx.TransportError as exc:
        raise TargetUnreachable(
            f"cannot reach the target ({type(exc).__name__}: {exc}); check the URL in the profile",
            cause=f"{type(exc).__name__}: {exc}",
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
