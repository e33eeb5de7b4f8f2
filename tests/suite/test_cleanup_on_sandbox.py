"""Test data on a target, end to end on the sandbox: a run ledgers what it creates (CRM contacts
and deals, identities the CRM resolved, Chatwoot conversations), `golive cleanup` closes the
deals as lost with a reason and notes the contacts through the public API, leaves the legacy
customer and anything not on the ledger alone — even a record named for the same run — and a
second cleanup changes nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from golive.clients.ledger import read_ledger, run_tag
from golive.commands.cleanup import cleanup, clients_for, find_ledgers
from golive.commands.subrun import SubRun
from golive.config import load_profile_file
from golive.evidence.run_shape import foreign_entries
from golive.runtime.sandbox_process import STATE_ENV, SandboxHandle

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
RUN = "20261130T000000Z-c1ea"
ORGS = ["sandbox-pilot", "sandbox-second"]
SCENARIOS = "known_customer or first_time or deal_id"


@pytest.fixture
def api(sandbox: SandboxHandle) -> Iterator[dict[str, httpx.Client]]:
    """Each organisation's CRM public API and Chatwoot API, to look at what cleanup did."""
    env = {**os.environ, **sandbox.secrets}
    clients = {}
    for slug in ORGS:
        org = load_profile_file(sandbox.profiles_dir / f"{slug}.toml", env)
        assert org.api_key and org.chatwoot_base_url and org.chatwoot_token
        clients[slug] = httpx.Client(
            base_url=org.crm_base_url + "/api/public/v1",
            headers={"X-Api-Key": org.api_key.reveal()},
            timeout=10,
        )
        clients[f"{slug}/chatwoot"] = httpx.Client(
            base_url=f"{org.chatwoot_base_url}/api/v1/accounts/{org.account_id}",
            headers={"api_access_token": org.chatwoot_token.reveal()},
            timeout=10,
        )
    yield clients
    for client in clients.values():
        client.close()


def data(client: httpx.Client, path: str, **params: str) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_cleanup_tidies_exactly_what_the_ledger_lists(
    sandbox: SandboxHandle, api: dict[str, httpx.Client], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STATE_ENV, str(sandbox.state_dir))
    run = SubRun(ROOT, ORGS, RUN, reports_dir=tmp_path, pytest_args=["-p", "no:randomly", "-k", SCENARIOS])
    code = run.run(
        env={**os.environ, STATE_ENV: str(sandbox.state_dir)}, log=tmp_path / "run.log", timeout_s=300
    )
    assert code == 0, (tmp_path / "run.log").read_text()[-3000:]
    assert foreign_entries(tmp_path / RUN) == [], "retention must recognise a real run folder as golive's"

    pilot = api["sandbox-pilot"]
    legacy = data(pilot, "/contacts", identifier="+5511987654321", channel="whatsapp")
    assert len(legacy) == 1 and run_tag(RUN) not in legacy[0]["name"]
    legacy_deals = data(pilot, "/deals", contact_id=legacy[0]["id"])
    outsider = pilot.post("/contacts", json={"name": f"Outsider {run_tag(RUN)}", "phone": "+5511955554444"})
    outsider_id = outsider.json()["data"]["id"]
    outsider_deal = pilot.post(
        "/deals", json={"title": "Not on any ledger", "board_key": "atendimento", "contact_id": outsider_id}
    ).json()["data"]

    reports = {}
    for slug in ORGS:
        ledgers = find_ledgers(tmp_path, slug, runs=[RUN])
        kinds = {(e.system, e.kind) for e in read_ledger(ledgers[0])}
        assert {("crm", "identity"), ("crm", "contact"), ("crm", "deal")} <= kinds, (slug, kinds)
        crm, chatwoot = clients_for(ROOT, slug, allow_production=False)
        reports[slug] = cleanup(slug, ledgers, crm=crm, chatwoot=chatwoot)
    assert ("chatwoot", "conversation") in {(e.system, e.kind) for e in read_ledger(ledgers[0])}

    for slug, report in reports.items():
        assert not report.failed, [o.line() for o in report.outcomes if o.action == "failed"]
        closed = [o.record.split()[-1] for o in report.outcomes if o.action == "closed"]
        assert closed, slug
        for deal_id in closed:
            deal = data(api[slug], f"/deals/{deal_id}")
            assert deal["is_lost"] and deal["loss_reason"] == f"golive test data, run {RUN}", deal
        marked = [o.record.split()[-1] for o in report.outcomes if o.action == "marked"]
        for contact_id in marked:
            (contact,) = [c for c in data(api[slug], "/contacts", q=run_tag(RUN)) if c["id"] == contact_id]
            notes = data(api[slug], "/activities", contact_id=contact_id, type="note")
            assert [n["metadata"]["golive_run"] for n in notes] == [RUN], contact
        assert any(o.action == "left alone" for o in report.outcomes), "the legacy customer is reported"
    second = reports["sandbox-second"]
    (conversation,) = {o.record for o in second.outcomes if o.record.startswith("chatwoot conversation")}
    shown = api["sandbox-second/chatwoot"].get(f"/conversations/{conversation.split()[-1]}").json()
    assert shown["status"] == "resolved" and "golive-test-data" in shown["labels"]

    assert data(pilot, "/deals", contact_id=legacy[0]["id"]) == legacy_deals
    assert not data(pilot, f"/deals/{outsider_deal['id']}")["is_lost"]
    assert data(pilot, "/activities", contact_id=outsider_id) == []

    crm, chatwoot = clients_for(ROOT, "sandbox-pilot", allow_production=False)
    again = cleanup(
        "sandbox-pilot", find_ledgers(tmp_path, "sandbox-pilot", runs=[RUN]), crm=crm, chatwoot=chatwoot
    )
    first = reports["sandbox-pilot"]  # what it closed (deals) and resolved (Chatwoot conversations)
    assert again.count("closed") == again.count("resolved") == 0
    assert again.count("already") == first.count("closed") + first.count("resolved"), again.outcomes
    for contact_id in [o.record.split()[-1] for o in again.outcomes if o.action == "marked"]:
        assert len(data(pilot, "/activities", contact_id=contact_id)) == 1


def test_the_double_validates_activities_as_the_real_route(api: dict[str, httpx.Client]) -> None:
    pilot, second = api["sandbox-pilot"], api["sandbox-second"]
    contact = pilot.post("/contacts", json={"name": "Ativ Teste", "phone": "+5511944443333"}).json()["data"]
    other = second.post("/contacts", json={"name": "Outra Org", "phone": "+5511944443334"}).json()["data"]
    created = pilot.post("/activities", json={"type": "note", "title": "hello", "contact_id": contact["id"]})
    assert created.status_code == 201 and created.json()["action"] == "created"
    assert created.json()["data"]["contact_id"] == contact["id"] and not created.json()["data"]["completed"]
    for body, error in (
        ({"type": "note", "title": "x", "colour": "red"}, "Invalid payload"),
        ({"type": "", "title": "x"}, "Invalid payload"),
        ({"type": "note", "title": "x", "contact_id": "not-a-uuid"}, "Invalid payload"),
        ({"type": "note", "title": "x", "date": "yesterday"}, "Invalid date"),
        ({"type": "note", "title": "x", "contact_id": other["id"]}, "Contact not found"),
    ):
        refused = pilot.post("/activities", json=body)
        assert (refused.status_code, refused.json()["error"]) == (422, error), body
    assert [a["title"] for a in data(pilot, "/activities", contact_id=contact["id"])] == ["hello"]
    assert data(second, "/activities", contact_id=contact["id"]) == []  # another organisation's key
