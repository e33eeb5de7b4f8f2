"""`ModelDouble`: OpenAI's `/v1/chat/completions` (plain and streamed) and `/v1/models`, one
base URL per organisation (`/orgs/<slug>/v1`), each with its own API key."""

from __future__ import annotations

import hmac
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from golive.sandbox.model.behaviour import Answer, answer, arguments_json

NEVER_CALLS_TOOLS = "model-never-calls-tool"
MODEL_IDS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini")
MAX_RECORDS = 500


@dataclass
class ModelSetup:
    """One organisation's model: its key, and what makes the customer ask for the next step."""

    slug: str
    api_key: str = field(repr=False)
    move_keyword: str
    move_stage: str


def _error(status: int, message: str, code: str, kind: str = "invalid_request_error") -> JSONResponse:
    """OpenAI's error body."""
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": code}}, status)


class ModelDouble:
    def __init__(self, setups: list[ModelSetup], fault_on: Callable[[str, str], bool]) -> None:
        self._setups = {s.slug: s for s in setups}
        self._fault_on = fault_on
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._app = Starlette(
            routes=[
                Route("/orgs/{slug}/v1/chat/completions", self._completions, methods=["POST"]),
                Route("/orgs/{slug}/v1/models", self._models, methods=["GET"]),
                Route("/__double/requests", self._requests, methods=["GET"]),
            ]
        )

    def app(self) -> Starlette:
        return self._app

    def base_url(self, server_url: str, slug: str) -> str:
        return f"{server_url}/orgs/{slug}/v1"

    def records(self, slug: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._records if slug is None or r["organisation"] == slug]

    def reset(self) -> None:
        with self._lock:
            self._records.clear()

    def _setup(self, request: Request) -> ModelSetup | JSONResponse:
        setup = self._setups.get(str(request.path_params["slug"]))
        if setup is None:
            return _error(404, "Unknown organisation for this model endpoint.", "not_found")
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), setup.api_key.encode()):
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        return setup

    async def _models(self, request: Request) -> Response:
        setup = self._setup(request)
        if isinstance(setup, JSONResponse):
            return setup
        data = [{"id": m, "object": "model", "created": 1715367049, "owned_by": "system"} for m in MODEL_IDS]
        return JSONResponse({"object": "list", "data": data})

    async def _completions(self, request: Request) -> Response:
        setup = self._setup(request)
        if isinstance(setup, JSONResponse):
            return setup
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.", "invalid_json")
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            return _error(400, "'messages' is a required property", "invalid_request")
        reply = answer(
            messages,
            body.get("tools"),
            keyword=setup.move_keyword,
            stage=setup.move_stage,
            never_calls_tools=self._fault_on(NEVER_CALLS_TOOLS, setup.slug),
        )
        number = next(self._ids)
        self._record(setup.slug, body, reply)
        model = str(body.get("model") or MODEL_IDS[0])
        if body.get("stream") is True:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                _chunks(number, model, reply, include_usage), media_type="text/event-stream"
            )
        return JSONResponse(_completion(number, model, reply))

    def _record(self, slug: str, body: dict[str, Any], reply: Answer) -> None:
        tools = [t.get("function", {}).get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
        record = {
            "organisation": slug,
            "at": time.time(),
            "model": body.get("model"),
            "messages": body.get("messages"),
            "tools": tools,
            "answer": reply.as_record(),
        }
        with self._lock:
            self._records.append(record)
            del self._records[:-MAX_RECORDS]

    async def _requests(self, request: Request) -> Response:
        slug = request.query_params.get("organisation")
        return JSONResponse({"requests": self.records(slug)})


def _message(reply: Answer, number: int) -> dict[str, Any]:
    if reply.tool_call is not None:
        call = {
            "id": f"call_golive{number:06d}",
            "type": "function",
            "function": {"name": reply.tool_call.name, "arguments": arguments_json(reply.tool_call)},
        }
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    return {"role": "assistant", "content": reply.text}


def _usage(reply: Answer) -> dict[str, int]:
    completion = len((reply.text or "").split()) + (12 if reply.tool_call else 0)
    return {"prompt_tokens": 50, "completion_tokens": completion, "total_tokens": 50 + completion}


def _completion(number: int, model: str, reply: Answer) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-golive{number:06d}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": _message(reply, number),
                "logprobs": None,
                "finish_reason": "tool_calls" if reply.tool_call else "stop",
            }
        ],
        "usage": _usage(reply),
    }


async def _chunks(number: int, model: str, reply: Answer, include_usage: bool) -> AsyncIterator[bytes]:
    """The same answer as server-sent events, as OpenAI streams it."""
    head: dict[str, Any] = {"id": f"chatcmpl-golive{number:06d}", "object": "chat.completion.chunk"}
    head |= {"created": int(time.time()), "model": model}

    def event(delta: dict[str, Any], finish: str | None, **extra: Any) -> bytes:
        chunk = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()

    message = _message(reply, number)
    yield event({"role": "assistant", "content": "" if reply.tool_call is None else None}, None)
    if reply.tool_call is not None:
        call = message["tool_calls"][0]
        yield event({"tool_calls": [{"index": 0, **call}]}, None)
        yield event({}, "tool_calls")
    else:
        yield event({"content": reply.text}, None)
        yield event({}, "stop")
    if include_usage:
        yield f"data: {json.dumps({**head, 'choices': [], 'usage': _usage(reply)})}\n\n".encode()
    yield b"data: [DONE]\n\n"
