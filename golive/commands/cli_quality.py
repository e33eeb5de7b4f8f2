"""`golive` subcommands that measure the suite and the CRM with the field's own tools:
api-check (Schemathesis on the CRM's public API) and mutation (cosmic-ray on the CRM double)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from golive.commands.cli_common import app
from golive.commands.cli_common import fail as _fail
from golive.commands.cli_common import project_root as _root
from golive.commands.cli_common import say as _say
from golive.errors import GoliveError


@app.command("api-check")
def api_check(
    org: Annotated[list[str] | None, typer.Option(help="organisation (repeatable); default: sandbox")] = None,
    run: Annotated[
        str | None, typer.Option(help="add the results to this run under reports/ (default: a new run)")
    ] = None,
    max_examples: Annotated[int, typer.Option(help="test cases per operation and phase")] = 25,
    seed: Annotated[int | None, typer.Option(help="Schemathesis seed (default: random)")] = None,
    allow_list: Annotated[
        Path | None, typer.Option(help="explained findings (default fixtures/api-check/allow-list.toml)")
    ] = None,
) -> None:
    """Schemathesis against each organisation's CRM public API, with the document the CRM serves.

    A staging gets the read-only operations (GET) with negative and authentication checks, so
    nothing is written; a sandbox gets every operation and the stateful phase. Exit 1 when a
    finding is not explained by the allow-list.
    """
    from golive.commands.api_check import check_organisations
    from golive.evidence.run import RunDir, new_run_id
    from golive.runtime.registry import sandbox_slugs
    from golive.runtime.sandbox_process import STATE_ENV
    from golive.runtime.sandbox_process import start as start_sandbox

    root = _root()
    slugs = org or sandbox_slugs(root / "orgs")
    run_dir = RunDir(root / "reports" / (run or new_run_id()))
    env = dict(os.environ)
    sandbox = None
    try:
        run_dir.root.mkdir(parents=True, exist_ok=True)
        if set(slugs) & set(sandbox_slugs(root / "orgs")) and STATE_ENV not in env:
            (run_dir.root / "logs").mkdir(exist_ok=True)
            sandbox = start_sandbox(log_path=run_dir.root / "logs" / "sandbox.log")
            env[STATE_ENV] = str(sandbox.state_dir)
        results = check_organisations(
            root,
            run_dir.root,
            slugs,
            env=env,
            allow_list=allow_list,
            max_examples=max_examples,
            seed=seed,
            say=_say,
        )
    except GoliveError as exc:
        raise _fail(exc) from None
    finally:
        if sandbox is not None:
            sandbox.stop()
    _say(f"results: {run_dir.root / 'api-check'}")
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


@app.command()
def mutation(
    sample: Annotated[
        int | None, typer.Option(help="test this many mutants, chosen with --seed (default: all)")
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the sample")] = 16,
    workers: Annotated[int | None, typer.Option(help="mutants at once (default: the config's, 2)")] = None,
    budget: Annotated[
        float | None, typer.Option(help="minutes: start no mutant after this (--resume carries on)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="report folder (default reports/mutation/<time>)")] = None,
    resume: Annotated[
        Path | None, typer.Option(help="carry on with this session folder's pending mutants")
    ] = None,
    config: Annotated[Path, typer.Option(help="cosmic-ray + golive configuration")] = Path(
        "mutation/cosmic-ray.toml"
    ),
    retest_survivors: Annotated[
        bool, typer.Option(help="with --resume: test the session's survivors again")
    ] = False,
) -> None:
    """Mutation testing of the CRM double (cosmic-ray), the suite as the test.

    Each mutant: the module mutated in a copy of the project, a sandbox started from that copy,
    the suite for one sandbox organisation (stopping at the first failure). Writes report.md
    (score per module, every survivor with its diff, cost per mutant) and report.json.
    """
    from datetime import UTC, datetime

    from golive.commands.mutation import (
        MutationConfig,
        execute_session,
        init_session,
        reopen_survivors,
        sample_session,
    )
    from golive.commands.mutation_report import write_report

    root = _root()
    try:
        settings = MutationConfig.load(root / config)
        folder = resume or out or root / "reports" / "mutation" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        db = folder / "session.sqlite"
        if resume is None:
            folder.mkdir(parents=True, exist_ok=True)
            excluded = init_session(db, root, settings)
            _say(f"mutation: equivalent mutants left out: {excluded}")
            if sample is not None:
                _say(f"mutation: sample of {sample_session(db, sample, seed)} mutant(s), seed {seed}")
        elif not db.is_file():
            raise typer.BadParameter(f"no session.sqlite in {resume}")
        elif retest_survivors:
            _say(f"mutation: {reopen_survivors(db)} survivor(s) to test again")
        execute_session(
            db, root, settings, workers=workers, budget_s=budget * 60 if budget else None, say=_say
        )
        summary = write_report(db, folder)
    except GoliveError as exc:
        raise _fail(exc) from None
    score = summary["score"]
    _say(
        f"mutation score {'—' if score is None else f'{100 * score:.1f} %'}: {summary['killed']} killed, "
        f"{summary['survived']} survived, {summary['pending']} pending; report {folder / 'report.md'}"
    )
