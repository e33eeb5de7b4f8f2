"""What every `golive` subcommand module shares: the typer app, the consoles, the project root,
and how a GoliveError becomes one line and an exit code."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from golive.errors import GoliveError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Go-live verification for the LagostaCRM Instagram DM v2 rollout.",
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def project_root() -> Path:
    """The project root: the nearest folder above the cwd with an orgs/ folder and features/."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "orgs").is_dir() and (folder / "features").is_dir():
            return folder
    return here


def say(line: str) -> None:
    console.print(line, markup=False, highlight=False)


def fail(exc: GoliveError, code: int = 2) -> typer.Exit:
    err.print(f"golive: {exc}", markup=False, highlight=False)
    return typer.Exit(code)
