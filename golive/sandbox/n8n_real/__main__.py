"""`python -m golive.sandbox.n8n_real install`: what `make tools` runs for the real n8n.

Installs Node 22 and n8n into `.golive/tools/n8n/` (or uses `GOLIVE_N8N_HOME`), migrates an
empty user folder once so sandboxes start warm, and installs Debian's redis-server when it is
missing and golive runs as root. Without npm it says so and the sandbox uses the n8n double.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from golive.errors import SandboxError
from golive.sandbox.n8n_real import process
from golive.sandbox.n8n_real.install import (
    HOME_ENV,
    N8N_VERSION,
    N8nInstallError,
    find_install,
    home,
    install,
)
from golive.sandbox.redis import install_redis


def _install(args: argparse.Namespace) -> int:
    where = home()
    began = time.monotonic()
    found = find_install(where)
    if found is None:
        print(
            f"n8n {N8N_VERSION}: installing Node 22 and n8n into {where} (about 3 min, 1.8 GB) …", flush=True
        )
        try:
            found = install(where)
        except N8nInstallError as exc:
            print(f"n8n: not installed ({exc}); the sandbox will run the n8n double", file=sys.stderr)
            return 1
        print(f"n8n {found.version}: installed in {time.monotonic() - began:.0f} s")
    else:
        print(f"n8n {found.version}: already installed in {found.home} ({HOME_ENV} or .golive/tools/n8n)")
    migrated = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="golive-n8n-install-") as tmp:
        try:
            template, made = process.ensure_template(found, Path(tmp) / "n8n.log")
        except SandboxError as exc:
            print(f"n8n: its database could not be prepared: {exc}", file=sys.stderr)
            return 1
    if made:
        print(f"n8n: migrated user folder ready in {template} ({time.monotonic() - migrated:.0f} s)")
    else:
        print(f"n8n: migrated user folder already in {template}")
    try:
        print(f"redis-server: {install_redis()}")
    except SandboxError as exc:
        print(f"redis-server: {exc}; the sandbox will run the n8n double", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m golive.sandbox.n8n_real", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="install n8n, Node 22 and redis-server; migrate the user folder")
    args = parser.parse_args(argv)
    return _install(args)


if __name__ == "__main__":
    raise SystemExit(main())
