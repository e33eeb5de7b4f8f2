"""The CRM public API v1 (`/api/public/v1`) and the webhook's status endpoint."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import httpx

from golive.clients.http import expect, send

# Response headers that identify a deployment where the host adds them (never credentials).
DEPLOYMENT_HEADERS = ("x-deployment-id", "x-vercel-deployment-url", "x-nextjs-deployment-id", "server")


@dataclass(frozen=True)
class Me:
    organization_id: str
    organization_name: str
    api_key_prefix: str


@dataclass(frozen=True)
class Stage:
    id: str
    label: str
    order: int


@dataclass(frozen=True)
class Contact:
    id: str
    name: str
    phone: str | None
    email: str | None


@dataclass(frozen=True)
class Deal:
    id: str
    title: str
    board_id: str
    stage_id: str
    contact_id: str | None
    is_won: bool
    is_lost: bool
    ai_summary: str | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Deal:
        return cls(
            id=data["id"],
            title=data["title"],
            board_id=data["board_id"],
            stage_id=data["stage_id"],
            contact_id=data.get("contact_id"),
            is_won=bool(data.get("is_won")),
            is_lost=bool(data.get("is_lost")),
            ai_summary=data.get("ai_summary"),
        )


@dataclass(frozen=True)
class Answer:
    """A raw answer, for calls whose refusal is itself the expected outcome."""

    status: int
    body: dict[str, Any]

    @property
    def code(self) -> str | None:
        value = self.body.get("code")
        return str(value) if value is not None else None

    @property
    def error(self) -> str | None:
        value = self.body.get("error")
        return str(value) if value is not None else None

    @property
    def action(self) -> str | None:
        value = self.body.get("action")
        return str(value) if value is not None else None

    @property
    def deal(self) -> Deal | None:
        data = self.body.get("data")
        return Deal.from_api(data) if isinstance(data, dict) and "stage_id" in data else None

    def describe(self) -> str:
        return f"{self.status} {self.code or self.action or ''} {self.error or ''}".strip()


class CrmClient:
    """Typed calls to one organisation's CRM. Auth (X-Api-Key) is set on the injected client."""

    def __init__(self, *, http: httpx.Client, organisation: str) -> None:
        self._http = http
        self._org = organisation

    def _answer(self, method: str, url: str, **kwargs: Any) -> Answer:
        response = send(self._http, self._org, method, url, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:200]}
        return Answer(response.status_code, body if isinstance(body, dict) else {"data": body})

    def _json(self, method: str, url: str, *statuses: int, **kwargs: Any) -> Any:
        return expect(send(self._http, self._org, method, url, **kwargs), self._org, *statuses)

    def webhook_status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/api/chatwoot/webhook", 200)
        return result

    def api_version(self) -> str:
        """The public API's declared version (`info.version` of its OpenAPI document)."""
        spec = self._json("GET", "/api/public/v1/openapi.json", 200)
        return str(spec["info"]["version"])

    def deployment(self) -> dict[str, str]:
        """What the CRM says about its deployment, where it says it: the public API's declared
        version and the identifying headers its host adds (Vercel, Next.js)."""
        found: dict[str, str] = {}
        response = send(self._http, self._org, "GET", "/api/public/v1/openapi.json")
        if response.status_code == 200:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                found["api_version"] = str(response.json()["info"]["version"])
        for header in DEPLOYMENT_HEADERS:
            value = response.headers.get(header)
            if value:
                found[header] = value
        return found

    def me(self) -> Me:
        data = self._json("GET", "/api/public/v1/me", 200)["data"]
        return Me(data["organization_id"], data["organization_name"], data["api_key_prefix"])

    def me_with_key(self, api_key: str | None) -> Answer:
        """`/me` with another key, or none at all (the security scenarios)."""
        request = self._http.build_request("GET", "/api/public/v1/me")
        if api_key is None:
            request.headers.pop("X-Api-Key", None)
        else:
            request.headers["X-Api-Key"] = api_key
        try:
            response = self._http.send(request)
        except httpx.TransportError:
            return self._answer("GET", "/api/public/v1/me")  # raises TargetUnreachable
        body = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else {"error": response.text[:200]}
        )
        return Answer(response.status_code, body if isinstance(body, dict) else {"data": body})

    def stages(self, board: str) -> list[Stage]:
        data = self._json("GET", f"/api/public/v1/boards/{board}/stages", 200)["data"]
        return [Stage(s["id"], s["label"], s["order"]) for s in data]

    def upsert_contact(self, *, name: str, phone: str | None = None, email: str | None = None) -> Contact:
        body = {k: v for k, v in {"name": name, "phone": phone, "email": email}.items() if v}
        data = self._json("POST", "/api/public/v1/contacts", 200, 201, json=body)["data"]
        return Contact(data["id"], data["name"], data.get("phone"), data.get("email"))

    def create_deal(self, *, title: str, board: str, contact_id: str) -> tuple[Deal, str]:
        body = {"title": title, "board_key": board, "contact_id": contact_id}
        answer = self._json("POST", "/api/public/v1/deals", 200, 201, json=body)
        return Deal.from_api(answer["data"]), str(answer["action"])

    def deal(self, deal_id: str) -> Deal:
        return Deal.from_api(self._json("GET", f"/api/public/v1/deals/{deal_id}", 200)["data"])

    def deal_answer(self, deal_id: str) -> Answer:
        return self._answer("GET", f"/api/public/v1/deals/{deal_id}")

    def open_deals(self, contact_id: str) -> list[Deal]:
        data = self._json(
            "GET", "/api/public/v1/deals", 200, params={"contact_id": contact_id, "status": "open"}
        )["data"]
        return [Deal.from_api(d) for d in data]

    def move_deal(self, deal_id: str, *, stage: str, ai_summary: str | None = None) -> Answer:
        body: dict[str, Any] = {"to_stage_label": stage}
        if ai_summary is not None:
            body["ai_summary"] = ai_summary
        return self._answer("POST", f"/api/public/v1/deals/{deal_id}/move-stage", json=body)

    def move_by_identity(self, *, board: str, stage: str, cross_board: bool = False, **who: str) -> Answer:
        body: dict[str, Any] = {"board_key_or_id": board, "to_stage_label": stage, **who}
        if cross_board:
            body["allow_cross_board"] = True
        return self._answer("POST", "/api/public/v1/deals/move-stage-by-identity", json=body)

    def move_legacy(self, *, board: str, stage: str, phone: str) -> Answer:
        body = {"board_key_or_id": board, "phone": phone, "to_stage_label": stage}
        return self._answer("POST", "/api/public/v1/deals/move-stage", json=body)
