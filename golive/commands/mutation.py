"""`golive mutation`: mutation testing of the CRM double with cosmic-ray, the suite as the test.

cosmic-ray is the engine: its operators find the mutants, its work database records them, and
its `mutate_and_test` applies one, runs the test command and restores the file. golive adds:

* the equivalence classes left out by configuration (`mutation_filters`), marked skipped in the
  database with the reason, so cosmic-ray's own reports agree;
* an optional seeded sample (`--sample N --seed S`), the others marked "not sampled";
* its distributor: `workers` copies of the project, one mutant at a time in each, so two mutants
  run at once without touching the checkout (cosmic-ray's local distributor mutates in place,
  one at a time); the test command (`mutation_probe`) runs the suite for one sandbox
  organisation in that copy, with a sandbox started from it;
* a time budget: past it no new mutant starts, and `--resume` carries on from the database;
* the report (`mutation_report`): score per module, every survivor with its diff, cost per mutant.
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from golive.commands.mutation_filters import Exclusions
from golive.errors import ConfigError

CONFIG = Path("mutation/cosmic-ray.toml")
# What a worker's copy of the project needs to run the suite against a sandbox.
TREE_ITEMS = ("golive", "features", "steps", "fixtures", "orgs", "conftest.py", "pyproject.toml")
SKIPPED_EQUIVALENT = "equivalent: "
SKIPPED_NOT_SAMPLED = "not sampled"
TIMINGS = "timings.json"


@dataclass(frozen=True)
class MutationConfig:
    modules: tuple[str, ...]
    timeout: float
    exclude: tuple[str, ...]
    organisation: str
    workers: int
    raw: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> MutationConfig:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: not a readable TOML file ({exc})", setting="--config") from None
        engine, ours = data.get("cosmic-ray", {}), data.get("golive", {}).get("mutation", {})
        modules = tuple(engine.get("module-path", ()))
        if not modules:
            raise ConfigError(f"{path}: [cosmic-ray] module-path names no module", setting="module-path")
        return cls(
            modules=modules,
            timeout=float(engine.get("timeout", 240.0)),
            exclude=tuple(ours.get("exclude", ())),
            organisation=str(ours.get("organisation", "sandbox-pilot")),
            workers=int(ours.get("workers", 2)),
            raw=data,
        )


def _engine() -> Any:
    """cosmic-ray's modules, imported when used (they load every operator plugin)."""
    import cosmic_ray.commands
    import cosmic_ray.mutating
    import cosmic_ray.work_db
    import cosmic_ray.work_item

    return cosmic_ray


def init_session(db_path: Path, root: Path, config: MutationConfig) -> dict[str, int]:
    """A new session database: every mutant of the configured modules, then the equivalent
    classes marked skipped. Returns how many mutants each class left out."""
    cr = _engine()
    excluded: dict[str, int] = dict.fromkeys(config.exclude, 0)
    exclusions = Exclusions(root, config.exclude)
    db_path = db_path.resolve()
    with cr.work_db.use_db(str(db_path), cr.work_db.WorkDB.Mode.create) as db, contextlib.chdir(root):
        cr.commands.init([Path(m) for m in config.modules], db, {})  # paths relative to the root
        for item in db.pending_work_items:
            mutation = item.mutations[0]
            why = exclusions.why(str(mutation.module_path), mutation.start_pos, mutation.end_pos)
            if why is not None:
                excluded[why] += 1
                db.set_result(item.job_id, _skipped(SKIPPED_EQUIVALENT + why))
    return excluded


def _skipped(output: str) -> Any:
    cr = _engine()
    return cr.work_item.WorkResult(output=output, worker_outcome=cr.work_item.WorkerOutcome.SKIPPED)


def sample_session(db_path: Path, size: int, seed: int) -> int:
    """Keep `size` pending mutants (chosen with `seed`, the same ones for the same session) and
    mark the others "not sampled"; the number kept."""
    cr = _engine()
    with cr.work_db.use_db(str(db_path), cr.work_db.WorkDB.Mode.open) as db:
        pending = sorted(db.pending_work_items, key=lambda i: _identity(i.mutations[0]))
        keep = set(j.job_id for j in random.Random(seed).sample(pending, min(size, len(pending))))
        for item in pending:
            if item.job_id not in keep:
                db.set_result(item.job_id, _skipped(SKIPPED_NOT_SAMPLED))
    return len(keep)


def _identity(mutation: Any) -> tuple[str, str, int]:
    return (str(mutation.module_path), str(mutation.operator_name), int(mutation.occurrence))


@contextmanager
def worker_trees(root: Path, count: int) -> Iterator[list[Path]]:
    """`count` copies of the project for the workers (removed afterwards)."""
    base = Path(tempfile.mkdtemp(prefix="golive-mutation-"))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    try:
        trees = []
        for n in range(count):
            tree = base / f"worker-{n}"
            tree.mkdir()
            for item in TREE_ITEMS:
                source = root / item
                if source.is_dir():
                    shutil.copytree(source, tree / item, ignore=ignore)
                elif source.is_file():
                    shutil.copyfile(source, tree / item)
            trees.append(tree)
        yield trees
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _test_one(item: Any, tree: Path, config: MutationConfig) -> tuple[Any, float]:
    """Mutate the module in `tree`, run the suite there, restore; (result, seconds)."""
    cr = _engine()
    import attrs

    mutation = item.mutations[0]
    moved = attrs.evolve(mutation, module_path=tree / mutation.module_path)
    command = f"{sys.executable} -m golive.commands.mutation_probe --tree {tree} --org {config.organisation}"
    started = time.monotonic()
    result = cr.mutating.mutate_and_test([moved], command, config.timeout)
    seconds = time.monotonic() - started
    if result.diff:
        result = attrs.evolve(result, diff=result.diff.replace(f"{tree}/", ""))
    if result.output and len(result.output) > 20_000:  # the suite's whole output: keep its end
        result = attrs.evolve(result, output=result.output[-20_000:])
    return result, seconds


def execute_session(
    db_path: Path,
    root: Path,
    config: MutationConfig,
    *,
    workers: int | None = None,
    budget_s: float | None = None,
    say: Callable[[str], None] = print,
) -> dict[str, float]:
    """Test every pending mutant, `workers` at a time, until done or past the budget.
    Returns the seconds each tested mutant took (job id -> s), also kept beside the database."""
    cr = _engine()
    timings_path = db_path.with_name(TIMINGS)
    timings: dict[str, float] = json.loads(timings_path.read_text()) if timings_path.is_file() else {}
    with cr.work_db.use_db(str(db_path), cr.work_db.WorkDB.Mode.open) as db:
        # A fixed shuffle: a run cut short by its budget still samples every module.
        pending = sorted(db.pending_work_items, key=lambda i: _identity(i.mutations[0]))
        random.Random(0).shuffle(pending)
        total = len(pending)
        count = max(1, min(workers or config.workers, total or 1))
        say(f"mutation: {total} mutant(s) to test, {count} at a time (copies of the project)")
        started = time.monotonic()
        done = 0
        with worker_trees(root, count) as trees, ThreadPoolExecutor(max_workers=count) as pool:
            free = list(trees)
            running: dict[Future[tuple[Any, float]], tuple[Any, Path]] = {}
            queue = list(pending)
            while queue or running:
                out_of_time = budget_s is not None and time.monotonic() - started > budget_s
                while queue and free and not out_of_time:
                    item, tree = queue.pop(0), free.pop()
                    running[pool.submit(_test_one, item, tree, config)] = (item, tree)
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    item, tree = running.pop(future)
                    free.append(tree)
                    result, seconds = future.result()
                    db.set_result(item.job_id, result)
                    timings[item.job_id] = round(seconds, 2)
                    done += 1
                    m = item.mutations[0]
                    outcome = str((result.test_outcome or result.worker_outcome).value)
                    say(
                        f"[{done}/{total}] {outcome:<11} {Path(str(m.module_path)).name}:{m.start_pos[0]} "
                        f"{str(m.operator_name).removeprefix('core/')} ({seconds:.1f}s)"
                    )
                timings_path.write_text(json.dumps(timings), encoding="utf-8")
            if queue:
                say(f"mutation: time budget spent, {len(queue)} mutant(s) left pending (--resume carries on)")
    return timings


def reopen_survivors(db_path: Path) -> int:
    """Make the session's survivors pending again (to test them after the suite was strengthened;
    killed mutants stay killed: a stronger suite kills at least what it killed). How many."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(db_path)) as conn, conn:
        done = conn.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")
        return done.rowcount


def keep_only(db_path: Path, job_ids: set[str]) -> None:
    """Mark every pending mutant but these "not sampled" (a fixed sample)."""
    cr = _engine()
    with cr.work_db.use_db(str(db_path), cr.work_db.WorkDB.Mode.open) as db:
        for item in db.pending_work_items:
            if item.job_id not in job_ids:
                db.set_result(item.job_id, _skipped(SKIPPED_NOT_SAMPLED))


def matching_items(db_path: Path, root: Path, wanted: Sequence[dict[str, Any]]) -> dict[int, str]:
    """For each wanted mutant (module, function, operator, the line it produces), the job id of
    the session's work item that makes it (index -> job id); a wanted mutant the code no longer
    has is left out."""
    cr = _engine()
    found: dict[int, str] = {}
    with cr.work_db.use_db(str(db_path), cr.work_db.WorkDB.Mode.open) as db:
        items = db.work_items
        sources: dict[str, str] = {}
        for item in items:
            m = item.mutations[0]
            for n, want in enumerate(wanted):
                if n in found or str(m.module_path) != want["module"] or m.operator_name != want["operator"]:
                    continue
                if want.get("function") and m.definition_name != want["function"]:
                    continue
                path = str(m.module_path)
                sources.setdefault(path, (root / path).read_text(encoding="utf-8"))
                if want["line"] in mutated_lines(sources[path], m):
                    found[n] = item.job_id
    return found


def mutated_lines(source: str, mutation: Any) -> list[str]:
    """The lines a mutation writes (stripped), from cosmic-ray's own in-memory mutation."""
    cr = _engine()
    import cosmic_ray.plugins

    operator = cosmic_ray.plugins.get_operator(mutation.operator_name)(**(mutation.operator_args or {}))
    mutated = cr.mutating.mutate_code(source, operator, mutation.occurrence)
    if mutated is None:
        return []
    before = set(source.splitlines())
    return [line.strip() for line in mutated.splitlines() if line not in before]
