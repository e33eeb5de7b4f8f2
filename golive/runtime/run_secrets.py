"""Secrets a run discovered, shared with the other processes of the same run.

A value first seen in a response (a webhook's signing secret in Chatwoot's answer) is known
only to the process that saw it. The run's other processes need it too: the pytest-xdist
controller scrubs what its workers wrote, `golive smoke` scrubs its children's logs and leak-
scans the bundles, `golive evidence` leak-scans later. So each discovery is appended to a file
outside reports/ (never evidence), private to the user: `.golive/run-secrets/<run>.jsonl`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from pathlib import Path

from golive.secrets import Redactor, Secret

FOLDER = Path(".golive") / "run-secrets"


def run_secrets_path(root: Path, run_dir: Path) -> Path:
    """The file of the run whose folder is `run_dir` (run ids repeat across report folders)."""
    digest = hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:12]
    return root / FOLDER / f"{run_dir.name}-{digest}.jsonl"


def _append(path: Path, secret: Secret) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(path.parent, 0o700)
    line = json.dumps({"name": secret.name, "value": secret.reveal()}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        fcntl.flock(out, fcntl.LOCK_EX)
        out.write(line)


def share_discoveries(redactor: Redactor, path: Path) -> None:
    """From now on, every secret `redactor` discovers is appended to `path`."""
    redactor.on_discovery(lambda secret: _append(path, secret), key="run-secrets")


def load_discoveries(redactor: Redactor, path: Path) -> int:
    """Register the secrets other processes of the run discovered; how many were read."""
    if not path.is_file():
        return 0
    count = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            secret = Secret(str(entry["name"]), str(entry["value"]))
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by a crash: the others still count
        redactor.register(secret)
        count += 1
    return count
