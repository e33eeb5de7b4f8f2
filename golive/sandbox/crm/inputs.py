"""Reading untrusted input in the CRM double: bytes to JSON, and JSON values to the types the
database takes. Anything PostgreSQL or Python would choke on (NUL bytes, lone surrogates, JSON
nested past the parser's limit, integers wider than the column, dates that are not dates) is
refused here with a reason, so it becomes a 4xx instead of a 500."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

LOG_HEADER = "X-Sandbox-Log"  # a 5xx carries its log line here: evidence for the suite
INT4_MAX = 2**31 - 1  # the Chatwoot id columns are `int`
EPOCH_MAX = 253_402_300_799  # 9999-12-31T23:59:59Z
_ASCII_DIGITS = re.compile(r"[0-9]{1,18}")


class BadInput(Exception):
    """The input parsed, but a value cannot be what the field needs. `field` names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def parse_json(body: bytes) -> Any:
    """The JSON value of `body`, or BadInput (not JSON, not UTF-8, or nested too deep)."""
    try:
        return json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise BadInput("body", "JSON nested too deep") from None
    except (ValueError, UnicodeDecodeError):
        raise BadInput("body", "not JSON") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: Python accepts them, JSON does not


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL byte"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate"
    return None


def unstorable_text(value: Any) -> tuple[str, str] | None:
    """The first string (key or value) in a JSON value that no text column can hold, as
    (path, problem). Walked without recursion: the value may be deep."""
    stack: list[tuple[str, Any]] = [("$", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                return path, problem
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = _text_problem(key)
                if problem:
                    return f"{path} (a key)", problem
                stack.append((f"{path}.{key}", child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{n}]", child) for n, child in enumerate(item))
    return None


def check_text(value: str, field: str) -> str:
    problem = _text_problem(value)
    if problem:
        raise BadInput(field, problem)
    return value


def chatwoot_int(value: Any, field: str, *, required: bool = True) -> int | None:
    """A Chatwoot id or count: an int, or a string of ASCII digits, within the `int` column."""
    if value is None:
        if required:
            raise BadInput(field, "is required")
        return None
    if isinstance(value, bool):
        raise BadInput(field, "must be an integer")
    if isinstance(value, str) and _ASCII_DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    if not isinstance(value, int):
        raise BadInput(field, "must be an integer")
    if not 0 <= value <= INT4_MAX:
        raise BadInput(field, f"is out of range (0..{INT4_MAX})")
    return value


def text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(field, "must be a string")
    return check_text(value, field)


def timestamp(value: Any, field: str) -> datetime | None:
    """ISO-8601 (what `message_created` carries) or epoch seconds (inside `messages[]`)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not 0 <= value <= EPOCH_MAX:
            raise BadInput(field, "epoch seconds out of range")
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise BadInput(field, f"{value[:40]!r} is not an ISO-8601 time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise BadInput(field, "must be an ISO-8601 string or epoch seconds")


def log_header(line: str) -> dict[str, str]:
    """A log line as an HTTP header: ASCII, one line, bounded. The sandbox's own evidence;
    a real CRM sends nothing like it."""
    safe = line.encode("ascii", "backslashreplace").decode("ascii").replace("\r", " ").replace("\n", " ")
    return {LOG_HEADER: safe[:900]}
