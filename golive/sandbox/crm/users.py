"""The CRM double's web users: one QA user per organisation (an admin, as the runbook's
screenshots of Configurações → Integrações need), password login and cookie sessions.

Passwords are stored as bcrypt hashes (pgcrypto), as Supabase stores them in auth.users.
Sessions live in memory: they die with the sandbox, like every other sandbox credential.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from golive.sandbox.db import Conn, Pool

SESSION_COOKIE = "sb-sandbox-auth-token"


@dataclass(frozen=True)
class QaUser:
    email: str
    name: str
    organization_id: str


@dataclass(frozen=True)
class SessionUser:
    id: str
    email: str
    name: str
    role: str
    organization_id: str

    @property
    def admin(self) -> bool:
        return self.role == "admin"


def qa_email(slug: str) -> str:
    return f"qa.{slug.removeprefix('sandbox-')}@golive.sandbox"


def seed_qa_users(conn: Conn, users: list[QaUser], password: str) -> None:
    """(Re)create the QA users; auth.users survives a wipe of the business tables."""
    conn.execute("DELETE FROM auth.users WHERE email = ANY(%s)", ([u.email for u in users],))
    for user in users:
        row = conn.execute(
            "INSERT INTO auth.users (email, encrypted_password) VALUES (%s, crypt(%s, gen_salt('bf', 6))) "
            "RETURNING id::text AS id",
            (user.email, password),
        ).fetchone()
        assert row is not None
        conn.execute(
            "INSERT INTO profiles (id, email, name, role, organization_id) VALUES (%s, %s, %s, 'admin', %s)",
            (row["id"], user.email, user.name, user.organization_id),
        )


class Sessions:
    """Login against auth.users; a random token per session, kept in memory."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._by_token: dict[str, str] = {}  # token -> user id

    def login(self, email: str, password: str) -> str | None:
        with self._pool.transaction() as conn:
            row = conn.execute(
                "SELECT u.id::text AS id FROM auth.users u JOIN profiles p ON p.id = u.id "
                "WHERE lower(u.email) = lower(%s) AND u.encrypted_password = crypt(%s, u.encrypted_password)",
                (email.strip(), password),
            ).fetchone()
        if row is None:
            return None
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._by_token[token] = str(row["id"])
        return token

    def logout(self, token: str) -> None:
        with self._lock:
            self._by_token.pop(token, None)

    def user(self, token: str | None) -> SessionUser | None:
        with self._lock:
            user_id = self._by_token.get(token or "")
        if user_id is None:
            return None
        with self._pool.transaction() as conn:
            row = conn.execute(
                "SELECT id::text AS id, coalesce(email, '') AS email, coalesce(name, '') AS name, "
                "coalesce(role, 'user') AS role, organization_id::text AS organization_id "
                "FROM profiles WHERE id = %s AND organization_id IS NOT NULL",
                (user_id,),
            ).fetchone()
        if row is None:  # the profile went away (a reset): the session ends with it
            return None
        return SessionUser(
            str(row["id"]), str(row["email"]), str(row["name"]), str(row["role"]), str(row["organization_id"])
        )
