"""The public API's lists and records as its OpenAPI document describes them (crm-contract §5):
pages that hand out every record once, records read and updated by id exactly as written,
companies upserted by name, deals and activities filtered as asked, boards found by key.

Each check compares whole records, not one field: an answer that loses, adds or bends a value
anywhere fails with the difference named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from golive.clients.crm import Answer, CrmClient
from golive.organisation import Organisation
from golive.scenario.data import DataFactory

PAGE = 2


def _ok(answer: Answer, what: str, *statuses: int) -> Any:
    if answer.status not in (statuses or (200,)):
        raise AssertionError(f"{what}: the API answered {answer.describe()}, expected {statuses or (200,)}")
    return answer.body


def _differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    return [f"{k}: {expected[k]!r} → {actual.get(k)!r}" for k in expected if actual.get(k) != expected[k]]


def _same_record(what: str, expected: dict[str, Any], actual: dict[str, Any]) -> None:
    wrong = _differences(expected, actual)
    if wrong:
        raise AssertionError(f"{what} is not as written: {'; '.join(wrong)}")


# --- paging ------------------------------------------------------------------------------------


@dataclass
class Listed:
    tag: str
    ids: list[str]
    pages: list[list[str]] = field(default_factory=list)
    cursors: list[str | None] = field(default_factory=list)


def contacts_sharing_a_tag(crm: CrmClient, data: DataFactory, count: int = 5) -> Listed:
    tag = f"golive-page-{data.chatwoot_id()}"
    ids = [
        crm.upsert_contact(name=f"{data.name()} {tag}", email=f"{tag}-{n}@example.com").id
        for n in range(count)
    ]
    return Listed(tag, ids)


def pages_through(crm: CrmClient, listed: Listed) -> Listed:
    cursor: str | None = None
    for _ in range(len(listed.ids) + 2):  # bounded: a cursor that never ends is a failure
        params: dict[str, Any] = {"q": listed.tag, "limit": PAGE}
        if cursor:
            params["cursor"] = cursor
        body = _ok(crm.call("GET", "/contacts", params=params), f"page {len(listed.pages) + 1}")
        listed.pages.append([c["id"] for c in body["data"]])
        cursor = body["nextCursor"]
        listed.cursors.append(cursor)
        if cursor is None:
            break
    return listed


def every_record_once(listed: Listed) -> None:
    seen = [i for page in listed.pages for i in page]
    expected_pages = -(-len(listed.ids) // PAGE)
    if sorted(seen) != sorted(listed.ids) or len(listed.pages) != expected_pages:
        raise AssertionError(
            f"paging {len(listed.ids)} contacts {PAGE} at a time gave pages {listed.pages} "
            f"(cursors {listed.cursors}); expected each of {sorted(listed.ids)} once in "
            f"{expected_pages} pages"
        )
    if any(len(page) != PAGE for page in listed.pages[:-1]) or listed.cursors[-1] is not None:
        raise AssertionError(
            f"pages {listed.pages} with cursors {listed.cursors}: full pages, then no cursor"
        )
    newest_first = list(reversed(listed.ids))
    if seen != newest_first:
        raise AssertionError(f"contacts are listed newest first: expected {newest_first}, got {seen}")


# --- a contact by id -------------------------------------------------------------------------------


@dataclass
class Written:
    id: str
    expected: dict[str, Any]


def contact_with_details(crm: CrmClient, data: DataFactory) -> Written:
    fields = {
        "name": data.name(),
        "email": f"golive-{data.chatwoot_id()}@example.com",
        "role": "Gerente",
        "birth_date": "1990-05-17",
        "last_interaction": "2026-03-01T12:30:00+03:00",
        "total_value": 1250.5,
        "notes": "Cliente desde 2019",
    }
    body = _ok(crm.call("POST", "/contacts", json=fields), "creating a contact", 201)
    expected = {
        **fields,
        "last_interaction": "2026-03-01T09:30:00+00:00",
        "status": "ACTIVE",
        "stage": "LEAD",
        "phone": None,
        "company_name": None,
        "client_company_id": None,
    }
    _same_record("the created contact", expected, body["data"])
    return Written(body["data"]["id"], expected)


def contact_updated_by_id(crm: CrmClient, written: Written) -> Answer:
    change = {"role": "Diretora", "notes": "   ", "total_value": None, "last_purchase_date": "2026-02-28"}
    written.expected |= {
        "role": "Diretora",
        "notes": None,
        "total_value": None,
        "last_purchase_date": "2026-02-28",
    }
    return crm.call("PATCH", f"/contacts/{written.id}", json=change)


def contact_reads_as_written(crm: CrmClient, written: Written, update: Answer) -> None:
    _same_record("the updated contact (PATCH answer)", written.expected, _ok(update, "the update")["data"])
    read = _ok(crm.call("GET", f"/contacts/{written.id}"), "reading the contact")["data"]
    _same_record("the contact read back by id", written.expected, read)
    # RFC 3339 allows a leap second; neither PostgreSQL nor the real route's Date can hold one
    leap = crm.call("PATCH", f"/contacts/{written.id}", json={"last_interaction": "2016-12-31T23:59:60Z"})
    if (leap.status, leap.code) != (422, "VALIDATION_ERROR"):
        raise AssertionError(f"a leap-second last_interaction answered {leap.describe()}, expected 422")
    # an identifier is authoritative: a phone sent with it does not narrow the lookup (§5.2)
    igsid = f"1784{written.id.replace('-', '')[:12].translate(str.maketrans('abcdef', '123456'))}"
    body = {"channel": "instagram", "identifier": igsid, "is_primary": True}
    _ok(crm.call("POST", f"/contacts/{written.id}/identifiers", json=body), "adding an identifier", 201)
    params = {"identifier": igsid, "channel": "instagram", "phone": "+5511987654321"}
    found = _ok(crm.call("GET", "/contacts", params=params), "the lookup by identifier")["data"]
    if [c["id"] for c in found] != [written.id]:
        raise AssertionError(f"contacts with identifier instagram:{igsid} (and another phone): {found}")


# --- companies ---------------------------------------------------------------------------------


@dataclass
class Company:
    id: str
    name: str
    answers: list[Answer] = field(default_factory=list)
    website: str = ""


def company_created(crm: CrmClient, data: DataFactory) -> Company:
    name = f"Empresa {data.chatwoot_id()}"
    body = _ok(
        crm.call("POST", "/companies", json={"name": name, "industry": "Alimentos"}), "a new company", 201
    )
    if body.get("action") != "created":
        raise AssertionError(f"a new company answered action {body.get('action')!r}, expected created")
    return Company(body["data"]["id"], name)


def company_upserted_and_linked(
    organisation: Organisation, crm: CrmClient, company: Company, data: DataFactory
) -> Company:
    company.answers.append(crm.call("POST", "/companies", json={"name": company.name.upper()}))
    contact = {"name": data.name(), "email": f"golive-{data.chatwoot_id()}@example.com"}
    company.answers.append(
        crm.call("POST", "/contacts", json={**contact, "company_name": company.name.lower()})
    )
    contact_id = str(company.answers[-1].body.get("data", {}).get("id"))
    board = str(organisation.board_key)
    deal, _ = crm.create_deal(
        title=f"golive company {data.chatwoot_id()}", board=board, contact_id=contact_id
    )
    company.answers.append(crm.call("PATCH", f"/deals/{deal.id}", json={"client_company_id": company.id}))
    company.website = f"https://{data.chatwoot_id()}.example.com"
    patch = {"industry": None, "website": f"  {company.website}  "}
    company.answers.append(crm.call("PATCH", f"/companies/{company.id}", json=patch))
    return company


def company_is_one_record(crm: CrmClient, company: Company) -> None:
    upsert, contact, deal, patch = company.answers
    given = _ok(deal, "a deal given the company")["data"].get("client_company_id")
    if given != company.id:
        raise AssertionError(f"a deal patched with client_company_id {company.id} has {given!r}")
    body = _ok(upsert, "the second upsert of the company")
    if body.get("action") != "updated" or body["data"]["id"] != company.id:
        raise AssertionError(
            f"an upsert by the same name (other case) must update company {company.id}: {upsert.describe()}, "
            f"id {body['data'].get('id')}"
        )
    linked = _ok(contact, "a contact naming the company", 201)["data"]
    if linked.get("client_company_id") != company.id:
        raise AssertionError(
            f"a contact whose company_name is the company's name got client_company_id "
            f"{linked.get('client_company_id')!r}, expected {company.id}"
        )
    expected = {"id": company.id, "name": company.name.upper(), "industry": None, "website": company.website}
    _same_record("the patched company", expected, _ok(patch, "the company's patch")["data"])
    _same_record(
        "the company read by id", expected, _ok(crm.call("GET", f"/companies/{company.id}"), "a read")["data"]
    )
    for params in ({"name": company.name.lower()}, {"q": company.name.split()[-1]}):
        listed = _ok(crm.call("GET", "/companies", params=params), f"the companies by {params}")["data"]
        if [c["id"] for c in listed] != [company.id]:
            raise AssertionError(f"companies by {params}: {listed}, expected only {company.id}")


# --- deals by status ---------------------------------------------------------------------------


@dataclass
class DealsByStatus:
    contact_id: str
    open: str
    won: str
    lost: str
    title: str


def deals_open_won_and_lost(organisation: Organisation, crm: CrmClient, data: DataFactory) -> DealsByStatus:
    board = organisation.board_key
    assert board is not None
    title = f"golive status {data.chatwoot_id()}"
    stages = crm.stages(board)
    ids: list[str] = []
    for n in range(3):  # one contact per deal: a board keeps one open deal per contact
        contact = crm.upsert_contact(name=data.name(), email=f"golive-{data.chatwoot_id()}-{n}@example.com")
        deal, _ = crm.create_deal(
            title=f"{title} {n}", board=board, contact_id=contact.id, stage_id=stages[n].id
        )
        ids.append(deal.id)
    _ok(crm.call("POST", f"/deals/{ids[1]}/mark-won"), "marking a deal won")
    _ok(crm.call("POST", f"/deals/{ids[2]}/mark-lost", json={"loss_reason": "  Preço  "}), "marking it lost")
    return DealsByStatus(contact.id, ids[0], ids[1], ids[2], title)


def deals_listed_by_status(
    organisation: Organisation, crm: CrmClient, deals: DealsByStatus
) -> dict[str, list[dict[str, Any]]]:
    listed = {}
    for status in ("open", "won", "lost"):
        params = {"q": deals.title, "status": status, "board_key": organisation.board_key}
        listed[status] = _ok(crm.call("GET", "/deals", params=params), status)["data"]
    return listed


def each_status_lists_its_deal(deals: DealsByStatus, listed: dict[str, list[dict[str, Any]]]) -> None:
    wanted = {"open": deals.open, "won": deals.won, "lost": deals.lost}
    got = {status: [d["id"] for d in rows] for status, rows in listed.items()}
    if got != {k: [v] for k, v in wanted.items()}:
        raise AssertionError(f"deals by status: {got}, expected { ({k: [v] for k, v in wanted.items()}) }")
    flags = {
        s: (rows[0]["is_won"], rows[0]["is_lost"], rows[0]["closed_at"] is not None)
        for s, rows in listed.items()
    }
    if flags != {"open": (False, False, False), "won": (True, False, True), "lost": (False, True, True)}:
        raise AssertionError(f"(is_won, is_lost, closed) per status: {flags}")
    if listed["lost"][0]["loss_reason"] != "Preço" or listed["won"][0]["loss_reason"] is not None:
        raise AssertionError(
            f"loss reasons: lost {listed['lost'][0]['loss_reason']!r} (sent '  Preço  '), "
            f"won {listed['won'][0]['loss_reason']!r}"
        )


# --- boards ------------------------------------------------------------------------------------


def board_by_key(organisation: Organisation, crm: CrmClient) -> dict[str, Any]:
    key = organisation.board_key
    return {
        "board": crm.call("GET", f"/boards/{key}"),
        "list": crm.call("GET", "/boards", params={"key": key}),
        "search": crm.call("GET", "/boards", params={"q": str(key).upper()[:4], "limit": 1}),
        "unknown": crm.call("GET", f"/boards/{key}-nao-existe"),
    }


def board_is_the_listed_one(organisation: Organisation, found: dict[str, Any]) -> None:
    board = _ok(found["board"], "the board by key")["data"]
    listed = _ok(found["list"], "the boards with that key")["data"]
    if board.get("key") != organisation.board_key or listed != [board]:
        raise AssertionError(f"the board by key {board} and the list filtered by key {listed} differ")
    search = _ok(found["search"], "the boards searched by part of the key")
    if [b["id"] for b in search["data"]] != [board["id"]] or search["nextCursor"] is not None:
        raise AssertionError(f"searching boards by {str(organisation.board_key).upper()[:4]!r}: {search}")
    if found["unknown"].status != 404 or found["unknown"].code != "NOT_FOUND":
        raise AssertionError(f"an unknown board key answered {found['unknown'].describe()}, expected 404")


# --- activities --------------------------------------------------------------------------------


def note_on_a_contact(crm: CrmClient, data: DataFactory) -> Written:
    contact = crm.upsert_contact(name=data.name(), email=f"golive-{data.chatwoot_id()}@example.com")
    note = {
        "type": "note",
        "title": "  Ligou pedindo orçamento  ",
        "description": "Quer mesa para 8",
        "date": "2026-04-02T18:00:00Z",
        "contact_id": contact.id,
        "metadata": {"party_size": 8, "channel": "WHATSAPP"},
    }
    body = _ok(crm.call("POST", "/activities", json=note), "a note on a contact", 201)
    expected = {
        **note,
        "title": "Ligou pedindo orçamento",
        "date": "2026-04-02T18:00:00+00:00",
        "completed": False,
        "deal_id": None,
        "client_company_id": None,
    }
    _same_record("the created note", expected, body["data"])
    crm.call("POST", "/activities", json={"type": "call", "title": "Retornar", "contact_id": contact.id})
    return Written(body["data"]["id"], expected)


def notes_of_the_contact(crm: CrmClient, written: Written) -> Answer:
    params = {"contact_id": written.expected["contact_id"], "type": "note"}
    return crm.call("GET", "/activities", params=params)


def only_that_note_is_listed(written: Written, listed: Answer) -> None:
    rows = _ok(listed, "the contact's notes")["data"]
    if [r["id"] for r in rows] != [written.id]:
        raise AssertionError(f"the contact's notes are {rows}, expected only note {written.id}")
    _same_record("the listed note", {"id": written.id, **written.expected}, rows[0])


# --- a move by stage id ------------------------------------------------------------------------


@dataclass
class Moved:
    deal: dict[str, Any]
    stage_ids: list[str]
    answers: list[Answer] = field(default_factory=list)


def deal_in_first_stage(organisation: Organisation, crm: CrmClient, data: DataFactory) -> Moved:
    board = organisation.board_key
    assert board is not None
    stages = [s.id for s in crm.stages(board)]
    contact = crm.upsert_contact(name=data.name(), email=f"golive-{data.chatwoot_id()}@example.com")
    deal, _ = crm.create_deal(title=f"golive move {data.chatwoot_id()}", board=board, contact_id=contact.id)
    return Moved(_ok(crm.call("GET", f"/deals/{deal.id}"), "the new deal")["data"], stages)


def moved_by_stage_id_then_won(crm: CrmClient, moved: Moved) -> Moved:
    deal = moved.deal["id"]
    for stage in (moved.stage_ids[2], moved.stage_ids[0]):
        moved.answers.append(crm.call("POST", f"/deals/{deal}/move-stage", json={"to_stage_id": stage}))
    won = {"to_stage_id": moved.stage_ids[1].upper(), "mark": "won"}
    moved.answers.append(crm.call("POST", f"/deals/{deal}/move-stage", json=won))
    return moved


def lands_in_each_stage_and_is_won(crm: CrmClient, moved: Moved) -> None:
    first, back, second = (_ok(a, "a move by stage id")["data"] for a in moved.answers)
    kept = {k: moved.deal[k] for k in ("id", "title", "value", "board_id", "contact_id", "loss_reason")}
    for stage, answer in ((moved.stage_ids[2], first), (moved.stage_ids[0], back)):
        _same_record(
            "the deal moved by stage id",
            {**kept, "stage_id": stage, "is_won": False, "is_lost": False, "closed_at": None},
            answer,
        )
    _same_record(
        "the deal moved with mark won",
        {**kept, "stage_id": moved.stage_ids[1], "is_won": True, "is_lost": False},
        second,
    )
    if second["closed_at"] is None:
        raise AssertionError("a deal marked won has no closed_at")
    _same_record(
        "the won deal read back", second, _ok(crm.call("GET", f"/deals/{moved.deal['id']}"), "a read")["data"]
    )
