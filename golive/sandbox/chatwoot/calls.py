"""What an Application API handler is given (the account, params, path) and how a request
fails: the status and body Chatwoot answers each kind of error with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from golive.sandbox.chatwoot.state import Account

NOT_FOUND = "Resource could not be found"

_ATTRIBUTE_OF = {
    "Url": "url",
    "Subscriptions": "subscriptions",
    "Inbox": "inbox",
    "Email": "email",
    "Phone number": "phone_number",
    "Identifier": "identifier",
    "Source": "source_id",
}


class Fail(Exception):
    """Ends a request with Chatwoot's status and body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def not_found() -> Fail:
    return Fail(404, {"error": NOT_FOUND})


def unprocessable(message: str) -> Fail:
    return Fail(422, {"error": message})


def record_invalid(errors: list[tuple[str, str]]) -> Fail:
    """`rescue_from ActiveRecord::RecordInvalid`: full messages joined, attribute names."""
    return Fail(
        422,
        {
            "message": ", ".join(f"{label} {text}" for label, text in errors),
            "attributes": list(dict.fromkeys(_ATTRIBUTE_OF[label] for label, _ in errors)),
        },
    )


def server_error() -> Fail:
    """An exception Chatwoot does not rescue: Rails' production JSON 500."""
    return Fail(500, {"status": 500, "error": "Internal Server Error"})


@dataclass
class Call:
    account: Account
    params: dict[str, Any]
    path: dict[str, str]
    as_bot: bool = False  # authenticated with the agent bot's access token


NO_BODY = object()  # a handler answers it for a response with an empty body
Handler = Callable[[Call], tuple[int, Any]]
