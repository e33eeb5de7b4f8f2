"""The Application API subset (`/api/v1/accounts/{account_id}/...`): the route table, token
auth, the account lookup and Rails' JSON responses. The handlers are in `api_account` and
`api_conversations`."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from golive.sandbox.chatwoot.api_account import AccountHandlers
from golive.sandbox.chatwoot.api_conversations import ConversationHandlers
from golive.sandbox.chatwoot.calls import NO_BODY, NOT_FOUND, Call, Fail, Handler
from golive.sandbox.chatwoot.events import Events
from golive.sandbox.chatwoot.state import Store
from golive.sandbox.chatwoot.wire import as_int, rails_json, reject_constant, utf8_clean

DEVISE_UNAUTHENTICATED = "You need to sign in or sign up before continuing."


class RailsJSON(Response):
    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return rails_json(content)


class ApplicationApi:
    def __init__(self, store: Store, events: Events, api_token: str, bot_token: str | None = None) -> None:
        self._store = store
        self._token = api_token
        self._bot_token = bot_token
        self._account = AccountHandlers(store, events)
        self._conversations = ConversationHandlers(store, events)

    def routes(self) -> list[Route]:
        account, conversations = self._account, self._conversations
        base = "/api/v1/accounts/{account_id}"
        conv = base + "/conversations/{conversation_id}"
        table: list[tuple[str, str, Handler]] = [
            ("GET", base + "/inboxes", account.inboxes_index),
            ("GET", base + "/inboxes/{inbox_id}", account.inboxes_show),
            ("GET", base + "/webhooks", account.webhooks_index),
            ("POST", base + "/webhooks", account.webhooks_create),
            ("PATCH", base + "/webhooks/{webhook_id}", account.webhooks_update),
            ("PUT", base + "/webhooks/{webhook_id}", account.webhooks_update),
            ("DELETE", base + "/webhooks/{webhook_id}", account.webhooks_destroy),
            ("GET", base + "/automation_rules", account.automation_rules_index),
            ("GET", base + "/contacts", account.contacts_index),
            ("POST", base + "/contacts", account.contacts_create),
            ("GET", base + "/contacts/search", account.contacts_search),
            ("GET", base + "/contacts/{contact_id}", account.contacts_show),
            ("POST", base + "/contacts/{contact_id}/contact_inboxes", account.contact_inboxes_create),
            ("GET", base + "/conversations", conversations.conversations_index),
            ("POST", base + "/conversations", conversations.conversations_create),
            ("GET", conv, conversations.conversations_show),
            ("POST", conv + "/toggle_status", conversations.conversations_toggle_status),
            ("GET", conv + "/labels", conversations.labels_index),
            ("POST", conv + "/labels", conversations.labels_create),
            ("POST", conv + "/assignments", conversations.assignments_create),
            ("GET", conv + "/messages", conversations.messages_index),
            ("POST", conv + "/messages", conversations.messages_create),
        ]
        return [Route(path, self._endpoint(handler), methods=[method]) for method, path, handler in table]

    def _endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            token = request.headers.get("api_access_token") or request.headers.get("api-access-token")
            if not token:  # no token: Devise's authenticate_user!
                return RailsJSON({"errors": [DEVISE_UNAUTHENTICATED]}, status_code=401)
            as_bot = bool(self._bot_token) and hmac.compare_digest(
                token.encode(), (self._bot_token or "").encode()
            )
            if not as_bot and not hmac.compare_digest(token.encode(), self._token.encode()):
                return RailsJSON({"error": "Invalid Access Token"}, status_code=401)
            raw = await request.body()
            params: dict[str, Any] = dict(request.query_params)
            if raw.strip():
                try:
                    body = json.loads(raw, parse_constant=reject_constant)
                except (ValueError, UnicodeDecodeError, RecursionError):
                    return RailsJSON({"status": 400, "error": "Bad Request"}, status_code=400)
                if not utf8_clean(body):  # a lone surrogate: Rails refuses the params
                    return RailsJSON({"status": 400, "error": "Bad Request"}, status_code=400)
                if isinstance(body, dict):
                    params.update(body)
            path = {k: str(v) for k, v in request.path_params.items()}
            with self._store.lock:
                account = self._store.accounts.get(as_int(path.get("account_id")) or -1)
                if account is None:
                    return RailsJSON({"error": NOT_FOUND}, status_code=404)
                try:
                    status, answer = handler(Call(account, params, path, as_bot))
                except Fail as failure:
                    return RailsJSON(failure.body, status_code=failure.status)
            if answer is NO_BODY:
                return Response(status_code=status)
            return RailsJSON(answer, status_code=status)

        return endpoint
