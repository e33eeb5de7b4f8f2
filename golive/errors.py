"""The error tree of golive. Every message says what went wrong and what to do next.

GoliveError
├── ConfigError          a setting is missing or invalid (exit code 2 at start)
├── ApiError             a target system answered unexpectedly (carries org/method/URL/status/body)
│   └── TargetUnreachable  nothing answered at all (DNS, refused, timeout)
├── WaitTimeout          a condition did not hold before its deadline (carries the last value)
├── SandboxError         the embedded staging stack could not start or be controlled
└── EvidenceError        evidence could not be written, or would leak a secret
"""

from __future__ import annotations

from typing import Any


class GoliveError(Exception):
    """Base of every error golive raises on purpose."""


class ConfigError(GoliveError):
    """A setting is missing or invalid. `setting` names it; `where` says how to set it."""

    def __init__(self, message: str, *, setting: str = "", where: str = "") -> None:
        self.setting = setting
        self.where = where
        super().__init__(message)


class ApiError(GoliveError):
    """A target answered with something the suite did not expect."""

    def __init__(
        self,
        message: str,
        *,
        organisation: str = "",
        method: str = "",
        url: str = "",
        status: int | None = None,
        body_excerpt: str = "",
    ) -> None:
        self.organisation = organisation
        self.method = method
        self.url = url
        self.status = status
        self.body_excerpt = body_excerpt
        where = f"{method} {url}".strip()
        answer = f" -> {status}: {body_excerpt}" if status is not None else ""
        detail = f" [{organisation}] {where}{answer}" if where else ""
        super().__init__(f"{message}{detail}")


class TargetUnreachable(ApiError):
    """No answer at all: the target is down, the URL is wrong, or a firewall drops us.
    `cause` says how it failed (`ConnectError: [Errno 111] Connection refused`)."""

    def __init__(self, message: str, *, cause: str = "", **where: Any) -> None:
        self.cause = cause
        super().__init__(message, **where)


class WaitTimeout(GoliveError, AssertionError):
    """`eventually` gave up. An AssertionError too, so pytest reports it as a failed check."""

    def __init__(self, what: str, *, elapsed: float, last_value: Any, last_error: str = "") -> None:
        self.what = what
        self.elapsed = elapsed
        self.last_value = last_value
        self.last_error = last_error
        detail = f"; last error: {last_error}" if last_error else ""
        super().__init__(
            f"timed out after {elapsed:.1f}s waiting for {what}; last observed: {last_value!r}{detail}"
        )


class SandboxError(GoliveError):
    """The embedded staging stack failed to start, stop or switch a fault."""


class EvidenceError(GoliveError):
    """Evidence could not be produced, or a secret was found in it."""
