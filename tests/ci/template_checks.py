"""What the CI template tests check in a script: every `golive` call names a subcommand and
options the CLI has, every `make` target exists. Kept apart so the checks themselves are
tested on broken examples (a check that cannot fail proves nothing)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from golive.commands.cli import app

ROOT = Path(__file__).resolve().parents[2]
_GOLIVE = re.compile(r"\.venv/bin/golive\s+")  # the templates call the project's own install
_MAKE = re.compile(r"(?:^|[\s;&|(])make\s+([A-Za-z][\w -]*)")
_TERMINATORS = set("\n|;&)>")


def _command_text(script: str, start: int) -> str:
    """From `start` to the first unquoted shell terminator (a pipe, `;`, `&&`, `)`, `>`, end of line)."""
    out, quote = [], ""
    for char in script[start:]:
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in _TERMINATORS:
            break
        out.append(char)
    return "".join(out)


def golive_calls(script: str) -> Iterator[list[str]]:
    """The argument lists of every `golive …` call in a shell script."""
    script = script.replace("\\\n", " ")
    for match in _GOLIVE.finditer(script):
        yield shlex.split(_command_text(script, match.end()))


def make_targets(script: str) -> Iterator[str]:
    for match in _MAKE.finditer(script):
        yield from (word for word in match.group(1).split() if not word.startswith("-"))


def _subcommands() -> dict[str, Any]:
    """golive's subcommands by name (typer's own click: typed loosely on purpose)."""
    commands: dict[str, Any] = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    return commands


def golive_problems(args: list[str]) -> list[str]:
    """Why `golive <args>` would not run (an unknown subcommand or option); [] when it would."""
    if not args:
        return ["`golive` without a subcommand"]
    name, rest = args[0], args[1:]
    command = _subcommands().get(name)
    if command is None:
        return [f"golive has no subcommand {name!r}"]
    known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    problems = []
    for arg in rest:
        if arg == "--":
            break
        if arg.startswith("-") and arg.split("=", 1)[0] not in known:
            problems.append(f"golive {name} has no option {arg.split('=', 1)[0]}")
    return problems


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w-]*):", text, flags=re.MULTILINE))


def script_problems(script: str) -> list[str]:
    problems = [p for args in golive_calls(script) for p in golive_problems(args)]
    targets = makefile_targets()
    problems += [f"the Makefile has no target {t!r}" for t in make_targets(script) if t not in targets]
    return problems


def repo_paths(text: str) -> set[str]:
    """Paths into the repository a template names (profiles, fixtures, templates)."""
    found = re.findall(r"\b((?:fixtures|ci|orgs|features)/[\w./-]+\.(?:toml|ya?ml|json))", text)
    return {path.lstrip("/") for path in found}
