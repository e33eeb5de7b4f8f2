"""The test command of one mutant: `python -m golive.commands.mutation_probe --tree DIR [pytest args]`.

Runs the suite (`pytest features`, one sandbox organisation, stop at the first failure) in `DIR`,
a copy of the project holding the mutated module. The suite starts its own sandbox, a child
process of that copy, so the sandbox runs the mutated code; `GOLIVE_SANDBOX_STATE` is dropped so
no running sandbox is reused. Evidence goes to a temporary folder, removed afterwards. Exit code:
pytest's (0: the mutant survived).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

DEFAULT_ORG = "sandbox-pilot"
# Whatever the environment says, a mutant runs against the in-process doubles: the n8n double,
# not a real n8n, keeps one mutant to seconds.
DOUBLES_ONLY = {"GOLIVE_SANDBOX_N8N": "double"}


def probe_argv(tree: Path, org: str, reports: Path, extra: list[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "features",
        "-q",
        "-x",
        "-p",
        "no:randomly",
        "--color=no",
        f"--org={org}",
        "--reports-dir",
        str(reports),
        *extra,
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mutation_probe", description=__doc__)
    parser.add_argument("--tree", type=Path, required=True)
    parser.add_argument("--org", default=DEFAULT_ORG)
    args, extra = parser.parse_known_args(argv)
    tree = args.tree.resolve()
    env = {k: v for k, v in os.environ.items() if k != "GOLIVE_SANDBOX_STATE"}
    env.update(DOUBLES_ONLY)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a mutated module must never be read from a stale .pyc
    with tempfile.TemporaryDirectory(prefix="golive-mutant-") as reports:
        done = subprocess.run(
            probe_argv(tree, args.org, Path(reports), extra), cwd=tree, env=env, check=False
        )
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
