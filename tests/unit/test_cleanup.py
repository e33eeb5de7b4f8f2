"""`golive cleanup` against a mocked CRM and Chatwoot (respx, every request must be expected):
what a ledger lists is closed or marked through the public API, a contact not named for the run
is left alone and none of its records is requested, failures are reported, not fatal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from golive.clients.chatwoot import ChatwootClient
from golive.clients.crm import CrmClient
from golive.clients.http import build_client
from golive.clients.ledger import Entry, Ledger, read_ledger, run_tag
from golive.commands.cleanup import RunCleanup, cleanup, find_ledgers
from golive.errors import ConfigError

BASE = "https://crm-staging.example.com"
CHATWOOT = "https://chatwoot-staging.example.com"
API = "/api/public/v1"
RUN = "20261130T120000Z-beef"
TAGGED = "c0000000-0000-4000-8000-000000000001"
LEGACY = "c0000000-0000-4000-8000-000000000002"
CREATED = "c0000000-0000-4000-8000-000000000003"
GONE = "c0000000-0000-4000-8000-000000000004"


def deal(deal_id: str, contact: str, *, lost: bool = False) -> dict[str, Any]:
    return {
        "id": deal_id,
        "title": f"Reserva {deal_id}",
        "board_id": "b",
        "stage_id": "s",
        "contact_id": contact,
        "is_won": False,
        "is_lost": lost,
    }


@pytest.fixture
def clients() -> Iterator[tuple[CrmClient, ChatwootClient]]:
    with (
        build_client("crm", base_url=BASE, timeout=5.0) as crm_http,
        build_client("chatwoot", base_url=CHATWOOT, timeout=5.0) as chatwoot_http,
    ):
        yield (
            CrmClient(http=crm_http, organisation="coronel"),
            ChatwootClient(http=chatwoot_http, organisation="coronel", account_id=7),
        )


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    ledger = Ledger(tmp_path / RUN / "ledger" / "coronel.jsonl", organisation="coronel", run_id=RUN)
    ledger.record("crm", "identity", "instagram:178400001", name=f"Ana {run_tag(RUN)}")
    ledger.record("crm", "identity", "whatsapp:+5511987654321", name="Maria Legado")
    ledger.record("crm", "contact", CREATED, name=f"Bia {run_tag(RUN)}")
    ledger.record("crm", "contact", GONE, name=f"Cris {run_tag(RUN)}")
    ledger.record("crm", "deal", "d-created", title="Reserva Bia", contact_id=CREATED)
    ledger.record("crm", "deal", "d-gone", title="Reserva Cris", contact_id=CREATED)
    ledger.record("chatwoot", "contact", 31, name=f"Ana {run_tag(RUN)}")
    ledger.record("chatwoot", "conversation", 41, contact_id=31)
    ledger.record("chatwoot", "message", 51, conversation_id=41)
    return ledger


def crm_routes(mock: respx.MockRouter) -> dict[str, respx.Route]:
    found = {
        "instagram": [{"id": TAGGED, "name": f"Ana {run_tag(RUN)}"}],
        "whatsapp": [{"id": LEGACY, "name": "Maria Legado"}],
    }

    def contacts(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": found[request.url.params["channel"]], "nextCursor": None})

    def deals(request: httpx.Request) -> httpx.Response:
        contact = request.url.params["contact_id"]
        assert contact != LEGACY, "a contact not named for the run was looked into"
        own = {
            TAGGED: [deal("d-agent", TAGGED)],
            CREATED: [deal("d-created", CREATED), deal("d-old", CREATED, lost=True)],
        }
        return httpx.Response(200, json={"data": own[contact], "nextCursor": None})

    def identifiers(request: httpx.Request) -> httpx.Response:
        contact = request.url.path.split("/")[-2]
        assert contact != LEGACY, "a contact not named for the run was looked into"
        if contact == GONE:
            return httpx.Response(404, json={"error": "Contact not found", "code": "NOT_FOUND"})
        return httpx.Response(200, json={"data": []})

    mock.get(url__regex=rf"{API}/contacts/[0-9a-f-]+/identifiers$").mock(side_effect=identifiers)
    notes_for: dict[str, list[dict[str, Any]]] = {TAGGED: [], CREATED: [{"metadata": {"golive_run": RUN}}]}
    mock.get(f"{API}/contacts").mock(side_effect=contacts)
    mock.get(f"{API}/deals").mock(side_effect=deals)
    mock.get(f"{API}/activities").mock(
        side_effect=lambda r: httpx.Response(200, json={"data": notes_for[r.url.params["contact_id"]]})
    )
    return {
        "note": mock.post(f"{API}/activities").respond(201, json={"data": {}, "action": "created"}),
        "lost": mock.post(url__regex=rf"{API}/deals/d-(agent|created)/mark-lost$").respond(
            200, json={"data": {}, "action": "lost"}
        ),
        "gone": mock.get(f"{API}/deals/d-gone").respond(
            404, json={"error": "Deal not found", "code": "NOT_FOUND"}
        ),
    }


def test_a_run_is_tidied_through_the_public_api_and_what_stays_is_reported(
    clients: tuple[CrmClient, ChatwootClient], ledger: Ledger
) -> None:
    crm, chatwoot = clients
    with (
        respx.mock(base_url=BASE, assert_all_called=True) as mock,
        respx.mock(base_url=CHATWOOT, assert_all_called=True) as cw,
    ):
        routes = crm_routes(mock)
        toggle = cw.post("/api/v1/accounts/7/conversations/41/toggle_status").respond(
            200, json={"payload": {"current_status": "resolved"}}
        )
        cw.get("/api/v1/accounts/7/conversations/41/labels").respond(200, json={"payload": ["vip"]})
        labels = cw.post("/api/v1/accounts/7/conversations/41/labels").respond(
            200, json={"payload": ["vip", "golive-test-data"]}
        )
        outcomes = RunCleanup(RUN, read_ledger(ledger.path), crm=crm, chatwoot=chatwoot).run()

    by_record = {o.record: o for o in outcomes}
    assert by_record["crm deal d-agent"].action == "closed"  # the agent's deal of a run contact
    assert by_record["crm deal d-created"].action == "closed"
    assert by_record["crm deal d-old"].action == "already"
    assert by_record["crm deal d-gone"].action == "gone"
    assert by_record[f"crm contact {TAGGED}"].action == "marked"
    assert by_record[f"crm contact {CREATED}"].action == "marked"  # noted on an earlier cleanup
    assert by_record[f"crm contact {GONE}"].action == "gone"
    assert by_record[f"crm contact {LEGACY}"].action == "left alone"
    assert "Maria Legado" in by_record[f"crm contact {LEGACY}"].detail
    assert by_record["chatwoot conversation 41"].action == "resolved"
    assert (
        by_record["chatwoot contact 31"].action == "kept"
        and by_record["chatwoot message 51"].action == "kept"
    )

    assert {json.loads(c.request.content)["loss_reason"] for c in routes["lost"].calls} == {
        f"golive test data, run {RUN}"
    }
    (note,) = routes["note"].calls
    body = json.loads(note.request.content)
    assert body["contact_id"] == TAGGED and body["type"] == "note" and body["metadata"]["golive_run"] == RUN
    assert json.loads(toggle.calls.last.request.content) == {"status": "resolved"}
    assert json.loads(labels.calls.last.request.content) == {"labels": ["vip", "golive-test-data"]}


def test_a_dry_run_changes_nothing(clients: tuple[CrmClient, ChatwootClient], ledger: Ledger) -> None:
    crm, chatwoot = clients
    with (
        respx.mock(base_url=BASE, assert_all_called=False) as mock,
        respx.mock(base_url=CHATWOOT) as cw,
    ):
        routes = crm_routes(mock)
        cw.get("/api/v1/accounts/7/conversations/41/labels").respond(200, json={"payload": []})
        outcomes = RunCleanup(RUN, read_ledger(ledger.path), crm=crm, chatwoot=chatwoot, dry_run=True).run()
        assert not routes["note"].called and not routes["lost"].called
    assert {o.record: o.action for o in outcomes}["crm deal d-agent"] == "closed"


def test_a_refused_close_is_reported_and_the_rest_still_tidied(
    clients: tuple[CrmClient, ChatwootClient],
) -> None:
    crm, _ = clients
    ledger_entries = [Entry("crm", "deal", deal_id, "coronel", RUN, "") for deal_id in ("d-1", "d-2")]
    with respx.mock(base_url=BASE, assert_all_called=True) as mock:
        mock.get(f"{API}/deals/d-1").respond(200, json={"data": deal("d-1", CREATED)})
        mock.get(f"{API}/deals/d-2").respond(200, json={"data": deal("d-2", CREATED)})
        mock.post(f"{API}/deals/d-1/mark-lost").respond(500, json={"error": "boom", "code": "DB_ERROR"})
        mock.post(f"{API}/deals/d-2/mark-lost").respond(200, json={"data": {}, "action": "lost"})
        outcomes = RunCleanup(RUN, ledger_entries, crm=crm, chatwoot=None).run()
    assert [(o.record, o.action) for o in outcomes] == [
        ("crm deal d-1", "failed"),
        ("crm deal d-2", "closed"),
    ]
    assert "500" in outcomes[0].detail


def test_ledgers_are_chosen_by_run_or_by_age(tmp_path: Path) -> None:
    for run in ("20261101T000000Z-0001", "20261125T000000Z-0002", "20261130T000000Z-0003"):
        Ledger(tmp_path / run / "ledger" / "coronel.jsonl", organisation="coronel", run_id=run).record(
            "crm", "deal", "d"
        )
    (tmp_path / "not-a-run" / "ledger").mkdir(parents=True)
    (tmp_path / "not-a-run" / "ledger" / "coronel.jsonl").write_text("")
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    names = lambda paths: [p.parent.parent.name for p in paths]  # noqa: E731
    assert names(find_ledgers(tmp_path, "coronel", older_than_days=3, now=now)) == [
        "20261101T000000Z-0001",
        "20261125T000000Z-0002",
    ]
    assert len(find_ledgers(tmp_path, "coronel", older_than_days=0, now=now)) == 3
    assert find_ledgers(tmp_path, "emporio", older_than_days=0, now=now) == []
    assert names(find_ledgers(tmp_path, "coronel", runs=["20261130T000000Z-0003"])) == [
        "20261130T000000Z-0003"
    ]
    with pytest.raises(ConfigError, match="no ledger of 'coronel'"):
        find_ledgers(tmp_path, "coronel", runs=["20261130T000000Z-ffff"])
    with pytest.raises(ConfigError, match="--run RUN_ID"):
        find_ledgers(tmp_path, "coronel")


def test_cleanup_only_reads_entries_of_its_organisation_and_run(
    clients: tuple[CrmClient, ChatwootClient], tmp_path: Path
) -> None:
    crm, _ = clients
    path = tmp_path / RUN / "ledger" / "coronel.jsonl"
    Ledger(path, organisation="emporio", run_id=RUN).record("crm", "deal", "d-other-org")
    Ledger(path, organisation="coronel", run_id="20261129T000000Z-0000").record("crm", "deal", "d-other-run")
    with respx.mock(base_url=BASE, assert_all_mocked=True):
        report = cleanup("coronel", [path], crm=crm, chatwoot=None)
    assert report.outcomes == [] and report.runs == [RUN]
    assert json.loads((path.parent / "coronel.cleanup.json").read_text())["runs"] == [RUN]


def test_a_conversation_labelled_by_an_earlier_cleanup_is_not_touched_again(
    clients: tuple[CrmClient, ChatwootClient],
) -> None:
    _, chatwoot = clients
    crm = clients[0]
    entry = Entry("chatwoot", "conversation", "41", "coronel", RUN, "")
    with respx.mock(base_url=CHATWOOT, assert_all_called=True) as cw:
        cw.get("/api/v1/accounts/7/conversations/41/labels").respond(
            200, json={"payload": ["golive-test-data"]}
        )
        outcomes = RunCleanup(RUN, [entry], crm=crm, chatwoot=chatwoot).run()
    assert [(o.record, o.action) for o in outcomes] == [("chatwoot conversation 41", "already")]
