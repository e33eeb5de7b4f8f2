"""Which scenarios `golive smoke` runs: a suite shortcut, pytest's `-m` / `-k`, and extra pytest
arguments, turned into one argument list for every organisation's sub-run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from golive.errors import ConfigError

Suite = Literal["smoke", "regression"]
SUITES: tuple[Suite, ...] = get_args(Suite)

# The go-live smoke is the @smoke scenarios; the nightly regression re-proves the smoke and adds
# the @regression ones, so a regression run can still give a Go/No-Go verdict.
SUITE_MARKERS: dict[Suite, str] = {"smoke": "smoke", "regression": "smoke or regression"}

# golive sets these per organisation; passed through, they would break the run's layout.
_RESERVED = ("--org", "--run-id", "--reports-dir", "--junitxml", "--junit-xml", "--alluredir")


@dataclass(frozen=True)
class Selection:
    suite: Suite | None = None
    marker: str | None = None  # pytest -m
    keyword: str | None = None  # pytest -k
    extra: tuple[str, ...] = ()  # after `--`, passed to pytest as they are

    def marker_expression(self) -> str | None:
        parts = [SUITE_MARKERS[self.suite]] if self.suite else []
        if self.marker:
            parts.append(self.marker)
        if len(parts) > 1:
            return " and ".join(f"({part})" for part in parts)
        return parts[0] if parts else None

    def pytest_args(self) -> list[str]:
        args: list[str] = []
        expression = self.marker_expression()
        if expression:
            args += ["-m", expression]
        if self.keyword:
            args += ["-k", self.keyword]
        return args + list(self.extra)

    def describe(self) -> str:
        """One line for the run log: what was selected."""
        args = self.pytest_args()
        return "all scenarios" if not args else " ".join(args)


def selection(
    *,
    suite: str | None = None,
    marker: str | None = None,
    keyword: str | None = None,
    extra: Sequence[str] = (),
) -> Selection:
    """A validated selection; a bad suite name or a reserved option is a ConfigError."""
    if suite is not None and suite not in SUITES:
        raise ConfigError(
            f"unknown suite {suite!r}: choose one of {', '.join(SUITES)}",
            setting="--suite",
        )
    for arg in extra:
        name = arg.split("=", 1)[0]
        if name in _RESERVED:
            raise ConfigError(
                f"{name} cannot be passed through to pytest: golive sets it for each organisation "
                "(use golive's own options instead)",
                setting=name,
            )
    for value, option in ((marker, "-m"), (keyword, "-k")):
        if value is not None and not value.strip():
            raise ConfigError(f"{option} needs an expression", setting=option)
    return Selection(suite, marker, keyword, tuple(extra))
