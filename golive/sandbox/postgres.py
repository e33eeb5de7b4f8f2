"""A throwaway PostgreSQL cluster: initdb into a temp folder, loopback only, removed on exit.

`initdb` refuses to run as root; as root we run the server binaries as the
`postgres` user (via runuser) on a folder that user owns.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from golive.errors import SandboxError

_SERVER_USER = "postgres"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _find_binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise SandboxError(
        f"PostgreSQL server binary '{name}' not found: install the PostgreSQL server "
        "(e.g. Debian package postgresql-15) or put its bin folder on PATH"
    )


@dataclass
class Cluster:
    root: Path
    port: int
    superuser: str
    _as_root: bool

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def dsn(self, user: str, password: str, dbname: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={user} password={password} dbname={dbname}"

    def superuser_dsn(self, dbname: str = "postgres") -> str:
        return f"host={self.root / 'sock'} port={self.port} user={self.superuser} dbname={dbname}"

    def stop(self) -> None:
        if self.data_dir.exists():
            _run(
                self._as_root,
                [_find_binary("pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"],
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)


def _run(as_root: bool, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    if as_root:
        argv = ["runuser", "-u", _SERVER_USER, "--", *argv]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    if check and result.returncode != 0:
        raise SandboxError(f"{' '.join(argv[:4])}… failed: {result.stderr.strip()[-800:]}")
    return result


def start_cluster(max_connections: int = 60) -> Cluster:
    """initdb + pg_ctl start on 127.0.0.1 and a private unix socket; about a second."""
    as_root = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="golive-pg-"))
    (root / "sock").mkdir()
    if as_root:
        shutil.chown(root, _SERVER_USER, _SERVER_USER)
        shutil.chown(root / "sock", _SERVER_USER, _SERVER_USER)
    superuser = _SERVER_USER if as_root else (os.environ.get("USER") or "postgres")
    initdb = _find_binary("initdb")
    data = root / "data"
    try:
        _run(
            as_root,
            [
                initdb,
                "-D",
                str(data),
                "-U",
                superuser,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )
        port = free_port()
        options = (
            f"-p {port} -k {root / 'sock'} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off -c max_connections={max_connections}"
        )
        _run(
            as_root,
            [
                _find_binary("pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "server.log"),
                "-w",
                "-t",
                "30",
                "start",
            ],
        )
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return Cluster(root=root, port=port, superuser=superuser, _as_root=as_root)
