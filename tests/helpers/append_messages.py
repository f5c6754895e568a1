"""Append COUNT messages tagged WRITER to one session (used by the concurrency tests)."""

import sys

from tutor_cli import SessionManager

path, writer, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with SessionManager(path) as manager:
    print("ready", flush=True)
    for index in range(count):
        manager.add_message("ada", "shared", "user", f"{writer}:{index}")
