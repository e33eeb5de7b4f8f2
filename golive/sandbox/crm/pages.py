"""The CRM double's web pages: /login, /dashboard, /settings/integracoes, /messaging, /boards and
/deals/{id}/cockpit, server-rendered from the double's own data for the logged-in user's
organisation (app-level scoping, as LagostaCRM's pages do).

The real pages fetch their data client-side (the conversations from Chatwoot's API); the
double renders the same texts and roles from its tables, which is what a screenshot shows.
Faults: `ui-deal-wrong-stage` (the board puts every deal in its board's first stage) and
`ui-token-rendered` (the channel table shows the Chatwoot API token in clear).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from golive.sandbox.crm import pages_html as html
from golive.sandbox.crm.users import SESSION_COOKIE, Sessions, SessionUser
from golive.sandbox.db import Conn, Pool
from golive.sandbox.faults import FaultState

MAX_FORM_BYTES = 10_000
CONVERSATION_LIMIT = 50


class Pages:
    def __init__(self, pool: Pool, faults: FaultState, sessions: Sessions) -> None:
        self.pool = pool
        self.faults = faults
        self.sessions = sessions

    def routes(self) -> list[Route]:
        return [
            Route("/", self.home, methods=["GET"]),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST", "GET"]),
            Route("/dashboard", self._page(self.dashboard), methods=["GET"]),
            Route("/settings", self._page(self.settings_general), methods=["GET"]),
            Route("/settings/integracoes", self._page(self.integrations), methods=["GET"]),
            Route("/messaging", self._page(self.messaging), methods=["GET"]),
            Route("/boards", self._page(self.boards), methods=["GET"]),
            Route("/deals/{deal_id}/cockpit", self._page(self.cockpit), methods=["GET"]),
        ]

    # --- session --------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        user = await run_in_threadpool(self.sessions.user, request.cookies.get(SESSION_COOKIE))
        return RedirectResponse("/dashboard" if user else "/login", status_code=303)

    async def login_form(self, request: Request) -> Response:
        return HTMLResponse(html.login(None, "", _safe_next(request.query_params.get("next"))))

    async def login(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return HTMLResponse(html.login("Requisição grande demais.", "", "/dashboard"), status_code=413)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items() if v}
        email, password = form.get("email", ""), form.get("password", "")
        next_path = _safe_next(form.get("next"))
        token = await run_in_threadpool(self.sessions.login, email, password) if email and password else None
        if token is None:  # Supabase's message for a wrong email or password
            return HTMLResponse(html.login("Invalid login credentials", email, next_path), status_code=400)
        response = RedirectResponse(next_path, status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/")
        return response

    async def logout(self, request: Request) -> Response:
        self.sessions.logout(request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def _page(self, render: Any) -> Any:
        """A page for logged-in users only; anyone else goes to /login and comes back."""

        async def endpoint(request: Request) -> Response:
            user = await run_in_threadpool(self.sessions.user, request.cookies.get(SESSION_COOKIE))
            if user is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
            status, text = await run_in_threadpool(render, user, request)
            return HTMLResponse(text, status_code=status)

        return endpoint

    # --- pages ----------------------------------------------------------------------------

    def dashboard(self, user: SessionUser, request: Request) -> tuple[int, str]:
        return 200, html.dashboard(user.name or user.email)

    def settings_general(self, user: SessionUser, request: Request) -> tuple[int, str]:
        return 200, html.settings("general", user.admin, html.general_settings())

    def integrations(self, user: SessionUser, request: Request) -> tuple[int, str]:
        if not user.admin:  # the tab is shown to admins only (SettingsPage.tsx)
            return 200, html.settings("general", False, html.general_settings())
        with self.pool.transaction() as conn:
            rows = conn.execute(
                "SELECT channel_type, name, chatwoot_account_id, chatwoot_inbox_id, chatwoot_base_url, "
                "chatwoot_api_token, status FROM messaging_channel_configs WHERE organization_id = %s "
                "ORDER BY status = 'active' DESC, channel_type DESC, chatwoot_inbox_id",
                (user.organization_id,),
            ).fetchall()
        leak = self.faults.on("ui-token-rendered")
        channels = [
            html.ChannelRow(
                channel=str(r["channel_type"]),
                name=str(r["name"]),
                account_id=int(r["chatwoot_account_id"]),  # type: ignore[call-overload]
                inbox_id=r["chatwoot_inbox_id"],  # type: ignore[arg-type]
                base_url=str(r["chatwoot_base_url"]),
                token_shown=str(r["chatwoot_api_token"]) if leak else "configurado",
                status=str(r["status"]),
            )
            for r in rows
        ]
        return 200, html.settings("integrations", True, html.integrations(channels))

    def messaging(self, user: SessionUser, request: Request) -> tuple[int, str]:
        search = request.query_params.get("q", "").strip()
        chosen = request.query_params.get("conversation", "")
        with self.pool.transaction() as conn:
            views = self._conversations(conn, user.organization_id, search)
            selected = next((c for c in views if str(c.id) == chosen), None)
            if selected is None and chosen.isdigit():  # selected, but outside the filtered list
                selected = next(iter(self._conversations(conn, user.organization_id, "", int(chosen))), None)
            messages = self._messages(conn, user.organization_id, selected.id) if selected else []
        return 200, html.messaging(views, selected, messages, search=search)

    def _conversations(
        self, conn: Conn, org: str, search: str, only: int | None = None
    ) -> list[html.ConversationView]:
        rows = conn.execute(
            "SELECT l.chatwoot_conversation_id AS id, coalesce(l.contact_name, c.name, '') AS name, "
            "upper(cfg.channel_type) AS source, "
            "coalesce(l.contact_phone, c.phone, i.external_id, '') AS handle, "
            "l.status, coalesce(l.last_message_preview, '') AS preview, l.unread_count, l.ai_enabled, "
            "d.id::text AS deal_id, d.title AS deal_title, d.value AS deal_value, "
            "coalesce(s.label, s.name) AS stage_label "
            "FROM messaging_conversation_links l "
            "LEFT JOIN contacts c ON c.id = l.contact_id "
            "LEFT JOIN messaging_channel_configs cfg ON cfg.organization_id = l.organization_id "
            "  AND cfg.chatwoot_inbox_id = l.chatwoot_inbox_id AND cfg.status = 'active' "
            "LEFT JOIN LATERAL (SELECT external_id FROM messaging_contact_identities x WHERE "
            "  x.contact_id = l.contact_id AND x.source = upper(cfg.channel_type) LIMIT 1) i ON true "
            "LEFT JOIN deals d ON d.id = l.deal_id AND d.deleted_at IS NULL "
            "LEFT JOIN board_stages s ON s.id = d.stage_id "
            "WHERE l.organization_id = %(org)s AND (%(only)s::int IS NULL OR l.chatwoot_conversation_id = "
            "%(only)s) AND (%(q)s = '' OR coalesce(l.contact_name, c.name, '') ILIKE %(like)s "
            "  OR coalesce(l.contact_phone, '') ILIKE %(like)s OR coalesce(l.last_message_preview, '') "
            "  ILIKE %(like)s) "
            "ORDER BY coalesce(l.last_message_at, l.updated_at) DESC LIMIT %(limit)s",
            {"org": org, "only": only, "q": search, "like": f"%{search}%", "limit": CONVERSATION_LIMIT},
        ).fetchall()
        return [
            html.ConversationView(
                id=int(r["id"]),  # type: ignore[call-overload]
                contact_name=str(r["name"]),
                source=r["source"] if isinstance(r["source"], str) else None,
                handle=str(r["handle"]),
                status=str(r["status"]),
                preview=str(r["preview"]),
                unread=int(r["unread_count"]),  # type: ignore[call-overload]
                ai_enabled=bool(r["ai_enabled"]),
                deal_id=r["deal_id"] if isinstance(r["deal_id"], str) else None,
                deal_title=r["deal_title"] if isinstance(r["deal_title"], str) else None,
                deal_value=float(r["deal_value"]) if r["deal_value"] is not None else None,  # type: ignore[arg-type]
                stage_label=r["stage_label"] if isinstance(r["stage_label"], str) else None,
            )
            for r in rows
        ]

    def _messages(self, conn: Conn, org: str, conversation: int) -> list[html.MessageView]:
        rows = conn.execute(
            "SELECT coalesce(content, '') AS content, message_type, to_char(created_at AT TIME ZONE "
            "'America/Sao_Paulo', 'HH24:MI') AS at FROM messaging_messages_cache WHERE organization_id = %s "
            "AND chatwoot_conversation_id = %s AND NOT is_private AND message_type <> 'activity' "
            "ORDER BY created_at, chatwoot_message_id",
            (org, conversation),
        ).fetchall()
        return [
            html.MessageView(str(r["content"]), r["message_type"] == "outgoing", str(r["at"]))
            for r in rows
            if r["content"]
        ]

    def boards(self, user: SessionUser, request: Request) -> tuple[int, str]:
        wanted = request.query_params.get("board", "")
        with self.pool.transaction() as conn:
            boards = conn.execute(
                "SELECT id::text AS id, coalesce(key, id::text) AS key, name FROM boards WHERE "
                "organization_id = %s AND deleted_at IS NULL ORDER BY position, created_at",
                (user.organization_id,),
            ).fetchall()
            if not boards:
                return 200, html.board([], "Boards", [])
            current = next((b for b in boards if wanted in (b["key"], b["id"])), boards[0])
            stages = conn.execute(
                "SELECT id::text AS id, coalesce(label, name) AS label FROM board_stages WHERE board_id = %s "
                'ORDER BY "order"',
                (current["id"],),
            ).fetchall()
            deals = conn.execute(
                "SELECT d.id::text AS id, d.title, d.value, d.stage_id::text AS stage_id, d.is_won, "
                "d.is_lost, "
                "coalesce(c.name, '') AS contact FROM deals d LEFT JOIN contacts c ON c.id = d.contact_id "
                "WHERE d.organization_id = %s AND d.board_id = %s AND d.deleted_at IS NULL "
                "ORDER BY d.updated_at DESC",
                (user.organization_id, current["id"]),
            ).fetchall()
        first = str(stages[0]["id"]) if stages else None
        wrong = self.faults.on("ui-deal-wrong-stage")
        columns = [
            html.StageColumn(
                str(stage["id"]),
                str(stage["label"]),
                tuple(
                    html.DealCard(
                        str(d["id"]),
                        str(d["title"]),
                        float(d["value"] or 0),  # type: ignore[arg-type]
                        str(d["contact"]),
                        bool(d["is_won"]),
                        bool(d["is_lost"]),
                    )
                    for d in deals
                    if (first if wrong else d["stage_id"]) == stage["id"]
                ),
            )
            for stage in stages
        ]
        return 200, html.board(
            [(str(b["key"]), str(b["name"])) for b in boards], str(current["name"]), columns
        )

    def cockpit(self, user: SessionUser, request: Request) -> tuple[int, str]:
        deal_id = request.path_params["deal_id"]
        with self.pool.transaction() as conn:
            deal = conn.execute(
                "SELECT d.title, d.value, d.ai_summary, d.board_id, b.name AS board, "
                "coalesce(s.label, s.name) AS stage FROM deals d JOIN boards b ON b.id = d.board_id "
                "LEFT JOIN board_stages s ON s.id = d.stage_id WHERE d.organization_id = %s "
                "AND d.id::text = %s AND d.deleted_at IS NULL",
                (user.organization_id, deal_id),
            ).fetchone()
            if deal is None:
                return 404, html.not_found_deal()
            stages = conn.execute(
                "SELECT coalesce(label, name) AS label FROM board_stages WHERE board_id = %s "
                'ORDER BY "order"',
                (deal["board_id"],),
            ).fetchall()
        return 200, html.cockpit(
            str(deal["title"]),
            str(deal["board"]),
            float(deal["value"] or 0),  # type: ignore[arg-type]
            [str(s["label"]) for s in stages],
            deal["stage"] if isinstance(deal["stage"], str) else None,
            deal["ai_summary"] if isinstance(deal["ai_summary"], str) else None,
        )


def _safe_next(raw: str | None) -> str:
    """Only a path of this site (no scheme, no //host): no open redirect after login."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/dashboard"
