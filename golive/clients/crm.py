"""The CRM public API v1 (`/api/public/v1`) and the webhook's status endpoint."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import httpx

from golive.clients.http import expect, send
from golive.clients.ledger import Ledger

SANDBOX_LOG_HEADER = "X-Sandbox-Log"  # the embedded stack explains its 5xx here

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
    sent_fields: tuple[str, ...] = ()  # the request body's keys, for messages
    log_line: str = ""  # the sandbox's log line for a 5xx (a real CRM sends none)

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
        said = f"{self.status} {self.code or self.action or ''} {self.error or ''}".strip()
        if self.sent_fields:
            said += f" (the request carried {', '.join(self.sent_fields)})"
        if self.log_line:
            said += f"; the sandbox logged: {self.log_line}"
        return said


class CrmClient:
    """Typed calls to one organisation's CRM. Auth (X-Api-Key) is set on the injected client.
    With a ledger, every contact and deal the API answers `created` is recorded in it."""

    def __init__(self, *, http: httpx.Client, organisation: str, ledger: Ledger | None = None) -> None:
        self._http = http
        self._org = organisation
        self._ledger = ledger

    def _answer(self, method: str, url: str, **kwargs: Any) -> Answer:
        response = send(self._http, self._org, method, url, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:200]}
        sent = kwargs.get("json")
        return Answer(
            response.status_code,
            body if isinstance(body, dict) else {"data": body},
            tuple(sent) if isinstance(sent, dict) else (),
            response.headers.get(SANDBOX_LOG_HEADER, ""),
        )

    def raw(
        self, method: str, url: str, *, content: bytes | None = None, content_type: str | None = None
    ) -> Answer:
        """Any request as given (hostile input): the URL is sent as written, the body as bytes."""
        headers = {"Content-Type": content_type} if content_type else {}
        return self._answer(method, url, content=content, headers=headers)

    def call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> Answer:
        """Any public API route (`path` under /api/public/v1), the answer as it came."""
        kwargs: dict[str, Any] = {"params": params} if params else {}
        if json is not None:
            kwargs["json"] = json
        return self._answer(method, f"/api/public/v1{path}", **kwargs)

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
        answer = self._json("POST", "/api/public/v1/contacts", 200, 201, json=body)
        data = answer["data"]
        if self._ledger is not None and answer.get("action") == "created":
            self._ledger.record("crm", "contact", data["id"], name=data["name"])
        return Contact(data["id"], data["name"], data.get("phone"), data.get("email"))

    def upsert_contact_answer(self, **fields: str) -> Answer:
        """`POST /contacts` with exactly these fields (name, email, phone, source, notes, …)."""
        return self._answer("POST", "/api/public/v1/contacts", json=fields)

    def find_contacts(self, **query: str) -> list[dict[str, Any]]:
        """`GET /contacts` by phone, email, identifier or text; the contacts as the API gives them."""
        data = self._json("GET", "/api/public/v1/contacts", 200, params=query)["data"]
        return [c for c in data if isinstance(c, dict)]

    def create_deal(
        self, *, title: str, board: str, contact_id: str, stage_id: str | None = None
    ) -> tuple[Deal, str]:
        body = {"title": title, "board_key": board, "contact_id": contact_id}
        if stage_id:
            body["stage_id"] = stage_id
        answer = self._json("POST", "/api/public/v1/deals", 200, 201, json=body)
        deal = Deal.from_api(answer["data"])
        if self._ledger is not None and answer.get("action") == "created":
            self._ledger.record("crm", "deal", deal.id, title=deal.title, contact_id=contact_id)
        return deal, str(answer["action"])

    def create_deal_answer(self, *, title: str, board: str, contact_id: str) -> Answer:
        body = {"title": title, "board_key": board, "contact_id": contact_id}
        return self._answer("POST", "/api/public/v1/deals", json=body)

    def reassign_deal(self, deal_id: str, contact_id: str) -> Deal:
        """`PATCH /deals/{id}` with another contact."""
        data = self._json("PATCH", f"/api/public/v1/deals/{deal_id}", 200, json={"contact_id": contact_id})[
            "data"
        ]
        return Deal.from_api(data)

    def deal(self, deal_id: str) -> Deal:
        return Deal.from_api(self._json("GET", f"/api/public/v1/deals/{deal_id}", 200)["data"])

    def deal_answer(self, deal_id: str) -> Answer:
        return self._answer("GET", f"/api/public/v1/deals/{deal_id}")

    def open_deals(self, contact_id: str) -> list[Deal]:
        data = self._json(
            "GET", "/api/public/v1/deals", 200, params={"contact_id": contact_id, "status": "open"}
        )["data"]
        return [Deal.from_api(d) for d in data]

    def move_deal_to_stage_id(self, deal_id: str, stage_id: str) -> Answer:
        return self._answer(
            "POST", f"/api/public/v1/deals/{deal_id}/move-stage", json={"to_stage_id": stage_id}
        )

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

    # --- tidying test data up (golive cleanup): what the public API allows, it has no DELETE ----

    def contacts_with_identifier(self, channel: str, identifier: str) -> list[Contact]:
        data = self._json(
            "GET", "/api/public/v1/contacts", 200, params={"identifier": identifier, "channel": channel}
        )["data"]
        return [Contact(c["id"], c["name"], c.get("phone"), c.get("email")) for c in data]

    def contact_exists(self, contact_id: str) -> bool:
        """Whether the contact is live in this organisation (its identifiers answer, or 404)."""
        response = send(self._http, self._org, "GET", f"/api/public/v1/contacts/{contact_id}/identifiers")
        if response.status_code == 404:
            return False
        expect(response, self._org, 200)
        return True

    def contact_deals(self, contact_id: str) -> list[Deal]:
        """Every live deal of the contact, open or closed."""
        data = self._json("GET", "/api/public/v1/deals", 200, params={"contact_id": contact_id})["data"]
        return [Deal.from_api(d) for d in data]

    def mark_lost(self, deal_id: str, *, reason: str) -> Answer:
        return self._answer("POST", f"/api/public/v1/deals/{deal_id}/mark-lost", json={"loss_reason": reason})

    def notes(self, contact_id: str) -> list[dict[str, Any]]:
        """The contact's note activities (type `note`)."""
        data = self._json(
            "GET", "/api/public/v1/activities", 200, params={"contact_id": contact_id, "type": "note"}
        )["data"]
        return [a for a in data if isinstance(a, dict)]

    def add_note(self, contact_id: str, *, title: str, metadata: dict[str, str]) -> Answer:
        body = {"type": "note", "title": title, "contact_id": contact_id, "metadata": metadata}
        return self._answer("POST", "/api/public/v1/activities", json=body)
