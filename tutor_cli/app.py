"""AppContext: what every command needs from the run it belongs to, built once by the root.

Settings (with the --database-url override), the store they name, the chat client, the price table,
consoles and the terminal flags. Commands take it from `ctx.obj` instead of reading globals, and a
test can build its own. Nothing heavy is imported here: each piece is imported when first asked for.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import IO, TYPE_CHECKING

from tutor_cli.config import Settings, parse_database_url

if TYPE_CHECKING:
    from rich.console import Console

    from tutor_cli.client import ChatClient
    from tutor_cli.pricing import PriceTable
    from tutor_cli.sessions import SessionManager
    from tutor_cli.store import Store


@dataclass
class AppContext:
    """One run of `tutor`: global options in, the objects commands share out."""

    database_url: str | None = None  # --database-url, over $TUTOR_DATABASE_URL
    debug: bool = False
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)

    @cached_property
    def settings(self) -> Settings:
        """Read on first use, so `tutor CMD --help` works whatever the environment holds."""
        settings = Settings.from_environment()
        if self.database_url:
            settings = replace(settings, database_url=parse_database_url(self.database_url))
        return settings

    # --- the terminal ---------------------------------------------------------------------

    @property
    def stdin_is_terminal(self) -> bool:
        return _isatty(self.stdin)

    @property
    def stdout_is_terminal(self) -> bool:
        return _isatty(self.stdout)

    @property
    def stderr_is_terminal(self) -> bool:
        return _isatty(self.stderr)

    def console(self, *, stderr: bool = False) -> Console:
        """A rich console on standard output (or error), honouring NO_COLOR."""
        from tutor_cli.views.text import make_console

        return make_console(stderr=stderr)

    def write(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def write_all(self, pieces: Iterable[str]) -> None:
        """Write pieces as they come, gathered into writes of about 64 KB (one write per message
        would cost more than rendering it)."""
        buffered: list[str] = []
        size = 0
        for piece in pieces:
            buffered.append(piece)
            size += len(piece)
            if size >= 65_536:
                self.stdout.write("".join(buffered))
                buffered, size = [], 0
        self.stdout.write("".join(buffered))
        self.stdout.flush()

    # --- the store, the model, the prices -------------------------------------------------

    def open_manager(self) -> SessionManager:
        """The SessionManager on the store the settings name (see `open_store`)."""
        from tutor_cli.sessions import SessionManager

        return SessionManager(store=self.open_store())

    def open_store(self) -> Store:
        """The class database when TUTOR_DATABASE_URL (or --database-url) is set, else tutor.db at home."""
        from tutor_cli.store import open_store

        return open_store(self.settings.store_location())

    def chat_client(self) -> ChatClient:
        """A client for the endpoint the settings name (a ConfigError naming the key when unset)."""
        from tutor_cli.client import client_from_settings

        return client_from_settings(self.settings)

    def chat_client_if_configured(self) -> ChatClient | None:
        """A client when an API key is set, else None (for screens that work without the model)."""
        return self.chat_client() if self.settings.api_key else None

    @cached_property
    def prices(self) -> PriceTable:
        """DeepSeek's prices, with the user's overrides from prices.json in the home folder."""
        from tutor_cli.pricing import PriceTable

        return PriceTable.load(self.settings.home / "prices.json")


def _isatty(stream: IO[str] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # a closed stream
        return False
