"""The report of a mutation session: score per module, every survivor with its diff, the
equivalent classes left out, and the cost per mutant. `report.md` for people, `report.json` for
tools (and the sampled test's threshold), both beside the session database."""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from golive.commands.mutation import SKIPPED_EQUIVALENT, SKIPPED_NOT_SAMPLED, TIMINGS, _engine


@dataclass
class ModuleScore:
    module: str
    killed: int = 0
    survived: int = 0
    pending: int = 0
    equivalent: Counter[str] = field(default_factory=Counter)
    not_sampled: int = 0

    @property
    def tested(self) -> int:
        return self.killed + self.survived

    @property
    def score(self) -> float | None:
        return self.killed / self.tested if self.tested else None


def summarise(db_path: Path) -> dict[str, Any]:
    cr = _engine()
    modules: dict[str, ModuleScore] = {}
    survivors: list[dict[str, Any]] = []
    with cr.work_db.use_db(str(db_path), cr.work_db.WorkDB.Mode.open) as db:
        for item in db.pending_work_items:
            path = str(item.mutations[0].module_path)
            modules.setdefault(path, ModuleScore(path)).pending += 1
        for item, result in db.completed_work_items:
            m = item.mutations[0]
            score = modules.setdefault(str(m.module_path), ModuleScore(str(m.module_path)))
            output = result.output or ""
            if result.worker_outcome == cr.work_item.WorkerOutcome.SKIPPED:
                if output.startswith(SKIPPED_EQUIVALENT):
                    score.equivalent[output.removeprefix(SKIPPED_EQUIVALENT)] += 1
                elif output == SKIPPED_NOT_SAMPLED:
                    score.not_sampled += 1
                continue
            if result.worker_outcome == cr.work_item.WorkerOutcome.NO_TEST:
                continue
            if result.is_killed:
                score.killed += 1
            else:
                score.survived += 1
                survivors.append(
                    {
                        "module": str(m.module_path),
                        "line": m.start_pos[0],
                        "function": m.definition_name,
                        "operator": m.operator_name,
                        "occurrence": m.occurrence,
                        "job_id": item.job_id,
                        "diff": result.diff or "",
                    }
                )
    timings_path = db_path.with_name(TIMINGS)
    timings = list(json.loads(timings_path.read_text()).values()) if timings_path.is_file() else []
    killed = sum(m.killed for m in modules.values())
    tested = sum(m.tested for m in modules.values())
    return {
        "session": str(db_path),
        "score": killed / tested if tested else None,
        "killed": killed,
        "survived": tested - killed,
        "tested": tested,
        "pending": sum(m.pending for m in modules.values()),
        "not_sampled": sum(m.not_sampled for m in modules.values()),
        "equivalent": dict(sum((m.equivalent for m in modules.values()), Counter())),
        "modules": [
            {
                "module": m.module,
                "killed": m.killed,
                "survived": m.survived,
                "score": m.score,
                "pending": m.pending,
                "not_sampled": m.not_sampled,
                "equivalent": dict(m.equivalent),
            }
            for m in sorted(modules.values(), key=lambda m: m.module)
        ],
        "cost_s": {
            "mutants": len(timings),
            "median": round(statistics.median(timings), 1) if timings else None,
            "mean": round(statistics.fmean(timings), 1) if timings else None,
            "max": round(max(timings), 1) if timings else None,
            "total": round(sum(timings), 1),
        },
        "survivors": sorted(survivors, key=lambda s: (s["module"], s["line"], s["operator"])),
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def render(summary: dict[str, Any], *, title: str = "Mutation testing of the CRM double") -> str:
    cost = summary["cost_s"]
    out = [
        f"# {title}",
        "",
        f"**Score {_pct(summary['score'])}**: {summary['killed']} killed of {summary['tested']} tested "
        f"({summary['survived']} survived; {summary['pending']} pending; {summary['not_sampled']} not "
        f"sampled). Left out as equivalent: "
        + (", ".join(f"{k} {v}" for k, v in summary["equivalent"].items()) or "none")
        + ".",
        "",
        f"Cost per mutant (restart the sandbox with the mutated module + the suite for one "
        f"organisation): median {cost['median']} s, mean {cost['mean']} s, max {cost['max']} s over "
        f"{cost['mutants']} mutants ({cost['total']} s of work).",
        "",
        "| module | killed | survived | score | equivalent (left out) | pending | not sampled |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in summary["modules"]:
        equivalent = ", ".join(f"{k} {v}" for k, v in m["equivalent"].items()) or "0"
        out.append(
            f"| `{m['module']}` | {m['killed']} | {m['survived']} | {_pct(m['score'])} | {equivalent} | "
            f"{m['pending']} | {m['not_sampled']} |"
        )
    out += ["", f"## Survivors ({len(summary['survivors'])})", ""]
    by_module: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in summary["survivors"]:
        by_module[s["module"]].append(s)
    for module, found in by_module.items():
        out += [f"### `{module}`", ""]
        for s in found:
            out += [
                f"- line {s['line']}, `{s['function']}`, {s['operator']} #{s['occurrence']} "
                f"(job {s['job_id']})",
                "",
                "```diff",
                s["diff"].strip(),
                "```",
                "",
            ]
    return "\n".join(out) + "\n"


def write_report(db_path: Path, out_dir: Path) -> dict[str, Any]:
    summary = summarise(db_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (out_dir / "report.md").write_text(render(summary), encoding="utf-8")
    return summary
