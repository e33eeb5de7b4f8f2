"""The test-data ledger: written by the clients and the scenario language as records are created
(never by steps), whole lines only under concurrency, readable after a crash mid-run."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from golive.clients.chatwoot import ChatwootClient
from golive.clients.crm import CrmClient
from golive.clients.http import build_client
from golive.clients.ledger import Ledger, read_ledger, run_tag
from golive.clients.webhook import WebhookEmitter
from golive.errors import TargetUnreachable
from golive.scenario.data import DataFactory
from golive.scenario.injection import Conversations

BASE = "https://crm-staging.example.com"
CHATWOOT = "https://chatwoot-staging.example.com"
API = "/api/public/v1"
RUN = "20261130T120000Z-beef"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "ledger" / "coronel.jsonl", organisation="coronel", run_id=RUN)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with build_client("crm", base_url=BASE, timeout=5.0) as client:
        yield client


def test_entries_from_many_threads_are_whole_lines(ledger: Ledger) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: ledger.record("crm", "deal", f"deal-{n}", title="x" * 2000), range(200)))
    entries = read_ledger(ledger.path)
    assert sorted(e.id for e in entries) == sorted(f"deal-{n}" for n in range(200))
    assert {(e.organisation, e.run_id) for e in entries} == {("coronel", RUN)}


def test_what_was_written_before_a_crash_is_readable(ledger: Ledger) -> None:
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from golive.clients.ledger import Ledger\n"
        f"ledger = Ledger(Path({str(ledger.path)!r}), organisation='coronel', run_id={RUN!r})\n"
        "ledger.record('crm', 'contact', 'c-1', name='Ana')\n"
        "ledger.record('crm', 'deal', 'd-1', title='Reserva Ana')\n"
        "os._exit(9)  # no clean-up of any kind, as a killed process\n"
    )
    crashed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=False, timeout=60)
    assert crashed.returncode == 9
    with ledger.path.open("a", encoding="utf-8") as torn:
        torn.write('{"system": "crm", "kind": "deal", "id": "d-2", "organ')  # a write cut short
    assert [(e.kind, e.id) for e in read_ledger(ledger.path)] == [("contact", "c-1"), ("deal", "d-1")]


def test_the_crm_client_ledgers_what_the_api_created_and_nothing_else(
    http: httpx.Client, ledger: Ledger
) -> None:
    crm = CrmClient(http=http, organisation="coronel", ledger=ledger)
    with respx.mock(base_url=BASE, assert_all_called=True) as mock:
        mock.post(f"{API}/contacts").mock(
            side_effect=[
                httpx.Response(201, json={"data": {"id": "c-new", "name": "Ana"}, "action": "created"}),
                httpx.Response(200, json={"data": {"id": "c-old", "name": "Bia"}, "action": "updated"}),
            ]
        )
        deal: dict[str, Any] = {
            "title": "Reserva Ana",
            "board_id": "b",
            "stage_id": "s",
            "contact_id": "c-new",
        }
        mock.post(f"{API}/deals").mock(
            side_effect=[
                httpx.Response(201, json={"data": {**deal, "id": "d-new"}, "action": "created"}),
                httpx.Response(200, json={"data": {**deal, "id": "d-old"}, "action": "existing"}),
            ]
        )
        crm.upsert_contact(name="Ana", phone="+5511987654321")
        crm.upsert_contact(name="Bia", phone="+5511987654322")
        crm.create_deal(title="Reserva Ana", board="atendimento", contact_id="c-new")
        crm.create_deal(title="Reserva Ana", board="atendimento", contact_id="c-new")
    entries = read_ledger(ledger.path)
    assert [(e.system, e.kind, e.id) for e in entries] == [
        ("crm", "contact", "c-new"),
        ("crm", "deal", "d-new"),
    ]
    assert entries[1].detail == {"title": "Reserva Ana", "contact_id": "c-new"}


def test_the_chatwoot_client_ledgers_contact_conversation_and_message_and_tags_the_conversation(
    ledger: Ledger,
) -> None:
    account = "/api/v1/accounts/7"
    with (
        build_client("chatwoot", base_url=CHATWOOT, timeout=5.0) as http,
        respx.mock(base_url=CHATWOOT, assert_all_called=True) as mock,
    ):
        mock.get(f"{account}/contacts/search").respond(200, json={"payload": []})
        mock.post(f"{account}/contacts").respond(200, json={"payload": {"contact": {"id": 31}}})
        conversation = mock.post(f"{account}/conversations").respond(200, json={"id": 41})
        mock.post(f"{account}/conversations/41/messages").respond(200, json={"id": 51})
        chatwoot = ChatwootClient(http=http, organisation="coronel", account_id=7, ledger=ledger)
        chatwoot.incoming_message(inbox_id=9, name="Ana", phone="+5511987654321", text="Oi", source_id="x")
    assert json.loads(conversation.calls.last.request.content)["custom_attributes"] == {"golive_run": RUN}
    assert [(e.system, e.kind, e.id) for e in read_ledger(ledger.path)] == [
        ("chatwoot", "contact", "31"),
        ("chatwoot", "conversation", "41"),
        ("chatwoot", "message", "51"),
    ]


def test_a_delivery_ledgers_the_identity_before_it_is_sent(make_org: Any, ledger: Ledger) -> None:
    """The CRM answers no id; the identity it will resolve is on the ledger even if the send dies."""
    data = DataFactory(RUN, seed=4)
    with (
        build_client("crm-webhook", base_url=BASE, timeout=5.0) as hook,
        respx.mock(base_url=BASE) as mock,
    ):
        mock.post("/api/chatwoot/webhook").mock(side_effect=httpx.ConnectError("refused"))
        emitter = WebhookEmitter(http=hook, organisation="coronel", path="/api/chatwoot/webhook", secret=None)
        conversations = Conversations(organisation=make_org(), crm_webhook=emitter, data=data, ledger=ledger)
        instagram, whatsapp = data.instagram_person(), data.whatsapp_person()
        with pytest.raises(TargetUnreachable):
            conversations.first_message("instagram", instagram, "Oi")
        with pytest.raises(TargetUnreachable):
            conversations.first_message("whatsapp", whatsapp, "Oi")
    entries = read_ledger(ledger.path)
    assert [(e.kind, e.id) for e in entries] == [
        ("identity", f"instagram:{instagram.igsid}"),
        ("identity", f"whatsapp:{whatsapp.phone}"),
    ]
    assert all(run_tag(RUN) in e.detail["name"] for e in entries)


def test_every_invented_record_carries_the_run_id(make_org: Any) -> None:
    """Names (contacts, deals named after them) and delivered messages carry the run id."""
    data = DataFactory(RUN, seed=5)
    assert run_tag(RUN) in data.name()
    conversations = Conversations(organisation=make_org(), crm_webhook=None, data=data)  # type: ignore[arg-type]
    assert RUN in conversations._message("Oi").source_id


def test_steps_never_write_the_ledger() -> None:
    offenders = [p.name for p in (ROOT / "steps").glob("*.py") if "ledger" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_a_ledger_entry_of_an_unknown_kind_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    good = {"system": "crm", "kind": "deal", "id": "d", "organisation": "o", "run_id": RUN, "at": ""}
    path.write_text(
        json.dumps({**good, "kind": "invoice"}) + "\n" + json.dumps(good) + "\n" + str(uuid.uuid4()) + "\n"
    )
    assert [e.id for e in read_ledger(path)] == ["d"]
