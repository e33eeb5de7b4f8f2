"""Row-level security of the v2 tables (checklist 2.4): what the catalog says, and what a
logged-in user of one organisation can actually read.

The CRM's browser client reads these tables with the user's JWT (PostgREST role
`authenticated`); the intended policies keep each organisation's rows to its own users.
LagostaCRM's migrations give every v2 table "Enable all access for authenticated users",
`USING (true)` (crm-contract §7 #17): any logged-in user of any organisation reads them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from golive.clients.sql import SqlVerifier
from golive.organisation import Organisation
from golive.scenario.customers import already_wrote_on_instagram
from golive.scenario.data import DataFactory
from golive.scenario.injection import Conversations, Sent

V2_TABLES = (
    "messaging_contact_identities",
    "messaging_identity_resolution_log",
    "messaging_conversation_links",
    "messaging_messages_cache",
    "contact_identifiers",
)
# what "identities, links or cache rows" means in the behaviour check
BEHAVIOUR_TABLES = {
    "identities": "messaging_contact_identities",
    "links": "messaging_conversation_links",
    "cached messages": "messaging_messages_cache",
}
USER_ROLES = ("authenticated", "public")
_READS = ("SELECT", "ALL")
_BY_ORGANISATION = re.compile(r"\borganization_id\b")
_GAP = "LagostaCRM gives every v2 table 'Enable all access for authenticated users', USING (true) (§7 #17)"


# --- the catalog -------------------------------------------------------------------------------


def rls_enabled(sql: SqlVerifier) -> None:
    rows = sql.query(
        "SELECT c.relname AS name, c.relrowsecurity AS enabled FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relname = ANY(%(tables)s)",
        tables=list(V2_TABLES),
    )
    found = {r["name"]: r["enabled"] for r in rows}
    missing = [t for t in V2_TABLES if t not in found]
    off = [t for t in V2_TABLES if t in found and not found[t]]
    if missing or off:
        raise AssertionError(
            "row-level security is not on for every v2 table: "
            + "; ".join(
                [
                    *(f"{t}: no such table" for t in missing),
                    *(f"{t}: RLS disabled, any role reads it" for t in off),
                ]
            )
        )


@dataclass(frozen=True)
class Policy:
    table: str
    name: str
    permissive: bool
    roles: tuple[str, ...]
    command: str
    using: str

    @property
    def applies_to_users(self) -> bool:
        return self.command in _READS and any(role in USER_ROLES for role in self.roles)

    @property
    def scoped(self) -> bool:
        return bool(_BY_ORGANISATION.search(self.using))


def policies(sql: SqlVerifier) -> list[Policy]:
    rows = sql.query(
        "SELECT tablename, policyname, permissive, roles::text[] AS roles, cmd, coalesce(qual, '') AS qual "
        "FROM pg_policies WHERE schemaname = 'public' AND tablename = ANY(%(tables)s) "
        "ORDER BY tablename, policyname",
        tables=list(V2_TABLES),
    )
    return [
        Policy(
            r["tablename"],
            r["policyname"],
            str(r["permissive"]).upper() == "PERMISSIVE",
            tuple(r["roles"]),
            str(r["cmd"]),
            " ".join(str(r["qual"]).split()),
        )
        for r in rows
    ]


def unscoped_tables(found: list[Policy]) -> dict[str, str]:
    """table -> why a logged-in user is not limited to their organisation's rows ('' = limited).

    A table is limited when a restrictive policy scopes reads by organisation, or when every
    permissive read policy does (permissive policies are OR-ed: one `true` opens the table)."""
    verdict: dict[str, str] = {}
    for table in V2_TABLES:
        mine = [p for p in found if p.table == table and p.applies_to_users]
        if any(not p.permissive and p.scoped for p in mine):
            verdict[table] = ""
            continue
        permissive = [p for p in mine if p.permissive]
        if not permissive:
            verdict[table] = "no policy lets a logged-in user read it (the CRM's screens would be empty)"
            continue
        open_ones = [p for p in permissive if not p.scoped]
        verdict[table] = (
            "; ".join(f"policy {p.name!r} ({p.command}) USING ({p.using or 'true'})" for p in open_ones)
            if open_ones
            else ""
        )
    return verdict


def policies_restrict_by_organisation(sql: SqlVerifier) -> None:
    problems = {t: why for t, why in unscoped_tables(policies(sql)).items() if why}
    if problems:
        listed = "; ".join(f"{t}: {why}" for t, why in problems.items())
        raise AssertionError(
            f"row-level security does not restrict the v2 tables by organisation — {listed}. "
            f"Known gap: {_GAP}"
        )


# --- behaviour ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgUser:
    """A user of the organisation to act as (the QA user when the profile names one)."""

    id: str
    email: str


def org_user(sql: SqlVerifier, org: Organisation) -> OrgUser | None:
    rows = sql.query(
        "SELECT id::text AS id, coalesce(email, '') AS email FROM profiles WHERE organization_id = %(org)s "
        "ORDER BY lower(coalesce(email, '')) = lower(%(qa)s) DESC, role = 'admin' DESC, created_at LIMIT 1",
        qa=org.ui_user or "",
    )
    return OrgUser(rows[0]["id"], rows[0]["email"]) if rows else None


def written_in_both(
    conversations: Conversations, other: Conversations, data: DataFactory
) -> tuple[Sent, Sent]:
    """A first Instagram DM to this organisation and another to the other one, both processed."""
    return already_wrote_on_instagram(conversations, data), already_wrote_on_instagram(other, data)


@dataclass(frozen=True)
class UserView:
    """Per table: rows of the organisation that exist, that the user sees, and foreign ones."""

    user: OrgUser
    own_total: dict[str, int]
    own_seen: dict[str, int]
    foreign_total: dict[str, int]
    foreign_seen: dict[str, int]


def _counts(rows: list[dict[str, object]]) -> tuple[int, int]:
    own = sum(int(str(r["n"])) for r in rows if r["own"])
    return own, sum(int(str(r["n"])) for r in rows if not r["own"])


def read_as_user(sql: SqlVerifier, user: OrgUser) -> UserView:
    own_total, own_seen, foreign_total, foreign_seen = {}, {}, {}, {}
    for what, table in BEHAVIOUR_TABLES.items():
        count = f"SELECT organization_id = %(org)s AS own, count(*) AS n FROM {table} GROUP BY 1"
        own_total[what], foreign_total[what] = _counts(sql.query(count))
        own_seen[what], foreign_seen[what] = _counts(sql.query_as_user(user.id, count))
    return UserView(user, own_total, own_seen, foreign_total, foreign_seen)


def sees_own_rows(view: UserView) -> None:
    hidden = {w: (view.own_seen[w], n) for w, n in view.own_total.items() if view.own_seen[w] < n}
    if hidden:
        listed = ", ".join(f"{w}: sees {seen} of {n}" for w, (seen, n) in hidden.items())
        raise AssertionError(f"user {view.user.email} does not see their own organisation's rows ({listed})")


def sees_no_foreign_rows(view: UserView) -> None:
    empty = [w for w, n in view.foreign_total.items() if n == 0]
    if empty:
        raise AssertionError(
            f"precondition: no row of another organisation in {', '.join(empty)}: nothing to prove"
        )
    leaked = {w: n for w, n in view.foreign_seen.items() if n}
    if leaked:
        listed = ", ".join(f"{n} {w}" for w, n in leaked.items())
        raise AssertionError(
            f"tenant leak through row-level security: user {view.user.email} reads {listed} of other "
            f"organisations. Known gap: {_GAP}"
        )
