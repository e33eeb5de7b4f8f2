"""Row-level security of the v2 tables: the intended policies (rows of the user's organisation
only) and, under the `rls-open-policies` fault, the real LagostaCRM ones (crm-contract §7 #17:
"Enable all access for authenticated users", `USING (true)`).

The intended policy follows the pattern LagostaCRM itself uses for its org-scoped tables
(`whatsapp_sessions`: the user's organisation read from `profiles` by `auth.uid()`).
The table owner (the app role) is not subject to RLS, like Supabase's service role.
"""

from __future__ import annotations

from typing import Any

import psycopg

AUTHENTICATED = "authenticated"
V2_TABLES = (
    "messaging_contact_identities",
    "messaging_identity_resolution_log",
    "messaging_conversation_links",
    "messaging_messages_cache",
    "contact_identifiers",
)
INTENDED = "Users read and write their organisation's rows"
REAL = "Enable all access for authenticated users"
_OWN_ORGANISATION = (
    "organization_id IN (SELECT p.organization_id FROM public.profiles p WHERE p.id = auth.uid())"
)


def prepare_roles(admin: psycopg.Connection[Any], reader: str) -> None:
    """As the superuser: the `authenticated` role Supabase has, and a reader that may act as it
    (for the behaviour check) while bypassing RLS for the suite's own read-only queries."""
    admin.execute(f"CREATE ROLE {AUTHENTICATED} NOLOGIN")
    admin.execute(f"GRANT {AUTHENTICATED} TO {reader}")
    admin.execute(f"ALTER ROLE {reader} BYPASSRLS")


def grant_and_enable(conn: psycopg.Connection[Any]) -> None:
    """As the table owner, once after the schema: RLS on, reads for `authenticated`."""
    conn.execute(f"GRANT USAGE ON SCHEMA auth TO {AUTHENTICATED}")
    conn.execute(f"GRANT SELECT ON profiles TO {AUTHENTICATED}")
    for table in V2_TABLES:
        conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {AUTHENTICATED}")
        conn.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    apply_policies(conn, open_to_all=False)


def apply_policies(conn: psycopg.Connection[Any], *, open_to_all: bool) -> None:
    """The intended org-scoped policies, or the real CRM's `USING (true)` ones."""
    for table in V2_TABLES:
        conn.execute(f'DROP POLICY IF EXISTS "{INTENDED}" ON {table}')
        conn.execute(f'DROP POLICY IF EXISTS "{REAL}" ON {table}')
        if open_to_all:
            conn.execute(
                f'CREATE POLICY "{REAL}" ON {table} FOR ALL TO {AUTHENTICATED} USING (true) WITH CHECK (true)'
            )
        else:
            conn.execute(
                f'CREATE POLICY "{INTENDED}" ON {table} FOR ALL TO {AUTHENTICATED} '
                f"USING ({_OWN_ORGANISATION}) WITH CHECK ({_OWN_ORGANISATION})"
            )
