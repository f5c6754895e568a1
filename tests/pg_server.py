"""A throw-away PostgreSQL cluster for the tests and benches: initdb, start on 127.0.0.1, stop.

python -m tests.pg_server start DIR   # prints the administrator's URL
python -m tests.pg_server stop DIR
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

ADMIN = "tutor_admin"


def find_binary(name: str) -> str | None:
    """A PostgreSQL server program from PATH or Debian's versioned folders."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return candidates[-1] if candidates else None


def available() -> bool:
    return bool(find_binary("initdb") and find_binary("pg_ctl"))


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the 'postgres' account then."""
    return ["runuser", "-u", owner, "--", *command] if owner else command


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(base: Path, *, fsync: bool = False, max_connections: int = 300) -> str:
    """Create and start a cluster under `base`; return the administrator's URL."""
    base.mkdir(parents=True, exist_ok=True)
    owner = None
    if os.geteuid() == 0:
        owner = "postgres"
        account = pwd.getpwnam(owner)
        os.chown(base, account.pw_uid, account.pw_gid)
    password = secrets.token_hex(12)
    password_file = base / "pw"
    password_file.write_text(password)
    if owner:
        account = pwd.getpwnam(owner)
        os.chown(password_file, account.pw_uid, account.pw_gid)
    data = base / "data"
    subprocess.run(
        _as_owner(
            [
                find_binary("initdb"),
                "-D",
                str(data),
                "-U",
                ADMIN,
                "--pwfile",
                str(password_file),
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            owner,
        ),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={base}"
        f" -c max_connections={max_connections} -c fsync={'on' if fsync else 'off'}"
        f" -c synchronous_commit={'on' if fsync else 'off'} -c full_page_writes={'on' if fsync else 'off'}"
    )
    subprocess.run(
        _as_owner(
            [find_binary("pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-o", options, "-w", "start"], owner
        ),
        check=True,
        capture_output=True,
    )
    url = f"postgresql://{ADMIN}:{password}@127.0.0.1:{port}/postgres"
    (base / "url").write_text(url)
    return url


def stop(base: Path) -> None:
    owner = "postgres" if os.geteuid() == 0 else None
    subprocess.run(
        _as_owner([find_binary("pg_ctl"), "-D", str(base / "data"), "-m", "immediate", "stop"], owner),
        capture_output=True,
    )


if __name__ == "__main__":
    action, folder = sys.argv[1], Path(sys.argv[2])
    if action == "start":
        print(start(folder))
    else:
        stop(folder)
