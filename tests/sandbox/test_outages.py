"""Each organisation's outage is its own: organisations under test at once share one sandbox,
and one's outage must neither lift nor hide another's (the recovery scenario flaked when two
organisations' outages overlapped and the second replaced, then cleared, the first)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from golive.sandbox.control import control_app
from golive.sandbox.crm.webhook import WebhookHandler
from golive.sandbox.db import Pool
from golive.sandbox.faults import FaultState
from golive.sandbox.servers import serve

TOKEN = "control-token-for-tests"
AUTH = {"X-Golive-Control-Token": TOKEN}
PILOT, SECOND = [30, 31], [40, 41]


@dataclass
class Sandbox:
    faults: FaultState
    control: httpx.Client
    crm: httpx.Client

    def down(self, inbox: int) -> bool:
        return self.crm.post("/api/chatwoot/webhook", json={"inbox_id": inbox}).status_code == 503


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The control API and the CRM webhook on loopback, sharing one fault state."""
    faults = FaultState()
    # No database: a delivery under outage is answered 503 before anything touches it, and one
    # that is not is refused as malformed (400) — all this test needs to tell the two apart.
    hook = WebhookHandler(cast(Pool, None), faults, None)
    servers = [
        serve("control", control_app(faults, TOKEN, lambda _before, _after: None, lambda: None)),
        serve("crm", Starlette(routes=[Route("/api/chatwoot/webhook", hook.post, methods=["POST"])])),
    ]
    clients = [httpx.Client(base_url=s.url, timeout=5) for s in servers]
    yield Sandbox(faults, *clients)
    for client in clients:
        client.close()
    for server in servers:
        server.stop()


def test_overlapping_outages_each_last_until_their_owner_ends_them(sandbox: Sandbox) -> None:
    control = sandbox.control

    assert control.put("/outages/sandbox-pilot", json={"inboxes": PILOT}, headers=AUTH).status_code == 200
    assert [sandbox.down(i) for i in (30, 31, 40, 41)] == [True, True, False, False]

    control.put("/outages/sandbox-second", json={"inboxes": SECOND}, headers=AUTH)
    assert [sandbox.down(i) for i in (30, 31, 40, 41)] == [True, True, True, True]

    answer = control.delete("/outages/sandbox-pilot", headers=AUTH)
    assert answer.json() == {"outages": {"sandbox-second": SECOND}}
    assert [sandbox.down(i) for i in (30, 31, 40, 41)] == [False, False, True, True]

    control.delete("/outages/sandbox-second", headers=AUTH)
    assert control.get("/outages").json() == {"outages": {}}
    assert not any(sandbox.down(i) for i in (30, 31, 40, 41))


def test_ending_an_outage_one_does_not_own_changes_nothing(sandbox: Sandbox) -> None:
    control = sandbox.control
    control.put("/outages/sandbox-pilot", json={"inboxes": PILOT}, headers=AUTH)
    control.delete("/outages/sandbox-second", headers=AUTH)
    assert sandbox.down(30) and control.get("/outages").json() == {"outages": {"sandbox-pilot": PILOT}}


def test_reset_ends_every_outage(sandbox: Sandbox) -> None:
    control = sandbox.control
    control.put("/outages/sandbox-pilot", json={"inboxes": PILOT}, headers=AUTH)
    control.put("/outages/sandbox-second", json={"inboxes": SECOND}, headers=AUTH)
    assert control.post("/reset", headers=AUTH).status_code == 200
    assert control.get("/outages").json() == {"outages": {}} and not sandbox.down(30) and not sandbox.down(40)


def test_the_crm_outage_fault_takes_every_inbox_down_whoever_owns_an_outage(sandbox: Sandbox) -> None:
    sandbox.faults.set(["crm-outage"])
    assert sandbox.down(30) and sandbox.down(40) and sandbox.down(99)


def test_outage_requests_need_the_token_and_at_least_one_inbox(sandbox: Sandbox) -> None:
    control = sandbox.control
    assert control.put("/outages/sandbox-pilot", json={"inboxes": PILOT}).status_code == 401
    assert control.delete("/outages/sandbox-pilot").status_code == 401
    for body in ({"inboxes": []}, {"inboxes": ["30"]}, {"inboxes": [True]}, {"on": True}, [30]):
        assert control.put("/outages/sandbox-pilot", json=body, headers=AUTH).status_code == 400, body
    assert control.get("/outages").json() == {"outages": {}}
