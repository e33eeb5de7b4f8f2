"""The sandbox's control API: fault profiles, the outage switch and resets.

Only the embedded stack offers it; a profile without `[control] url` lacks the capability
and the scenarios tagged `@needs_control` are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from golive.clients.http import expect, send


@dataclass(frozen=True)
class FaultInfo:
    name: str
    breaks: str
    stands_for: str
    caught_by: tuple[str, ...]
    after_run: bool = False  # switched on after a clean run; caught by the monitoring window


class ControlClient:
    def __init__(self, *, http: httpx.Client, organisation: str) -> None:
        self._http = http
        self._org = organisation

    def catalogue(self) -> list[FaultInfo]:
        body = expect(send(self._http, self._org, "GET", "/faults"), self._org, 200)
        return [
            FaultInfo(
                f["name"], f["breaks"], f["stands_for"], tuple(f["caught_by"]), bool(f.get("after_run"))
            )
            for f in body["catalogue"]
        ]

    def active(self) -> list[str]:
        body: dict[str, Any] = expect(send(self._http, self._org, "GET", "/faults"), self._org, 200)
        return list(body["active"])

    def set_faults(self, names: list[str]) -> None:
        expect(send(self._http, self._org, "PUT", "/faults", json={"active": names}), self._org, 200)

    def start_outage(self, inboxes: list[int]) -> None:
        """The CRM webhook down for deliveries of these inboxes, owned by this organisation:
        only this organisation can end it, and it ends no one else's."""
        path = f"/outages/{quote(self._org, safe='')}"
        expect(send(self._http, self._org, "PUT", path, json={"inboxes": inboxes}), self._org, 200)

    def end_outage(self) -> None:
        expect(send(self._http, self._org, "DELETE", f"/outages/{quote(self._org, safe='')}"), self._org, 200)

    def outages(self) -> dict[str, list[int]]:
        """Every owner's outage: owner -> the inboxes it took down."""
        body: dict[str, Any] = expect(send(self._http, self._org, "GET", "/outages"), self._org, 200)
        return {str(owner): list(inboxes) for owner, inboxes in body["outages"].items()}

    def reset(self) -> None:
        expect(send(self._http, self._org, "POST", "/reset"), self._org, 200)

    def run_backfill(self) -> dict[str, Any]:
        """Run the target's WhatsApp identity backfill now; what it did, per organisation id."""
        body: dict[str, Any] = expect(send(self._http, self._org, "POST", "/backfill"), self._org, 200)
        return dict(body.get("organisations") or {})
