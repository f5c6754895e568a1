"""Enter-to-request latency: from the question being handed to the tutor to the request arriving
at the (in-process) fake server, for a short and a long session.

Run: python bench/latency.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_server import API_KEY, FakeServer, Reply  # noqa: E402
from tutor_cli.client import ChatClient  # noqa: E402
from tutor_cli.sessions import SessionManager  # noqa: E402
from tutor_cli.tokens import message_tokens  # noqa: E402
from tutor_cli.turn import Conversation, ask  # noqa: E402
from tutor_cli.views.answer import AnswerView  # noqa: E402


class Discard:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def fill(manager: SessionManager, session: str, count: int) -> None:
    """Add `count` messages quickly (one transaction per thousand) through the store."""
    manager.create_session("ada", session, "You are a tutor.")
    store = manager.store
    done = 0
    while done < count:
        batch = min(1000, count - done)
        with store._transaction() as conn:
            pk = conn.execute("SELECT id FROM sessions WHERE session_id = ?", (session,)).fetchone()[0]
            texts = [f"message {done + i} " * 10 for i in range(batch)]
            conn.executemany(
                "INSERT INTO messages (session_pk, student_id, role, content, created_at, tokens)"
                " VALUES (?, 'ada', ?, ?, ?, ?)",
                [
                    (pk, "user" if (done + i) % 2 == 0 else "assistant", text, time.time(), message_tokens(text))
                    for i, text in enumerate(texts)
                ],
            )
            conn.execute("UPDATE sessions SET message_count = message_count + ? WHERE id = ?", (batch, pk))
        done += batch


def latency_ms(server: FakeServer, conversation: Conversation, runs: int) -> float:
    samples = []
    for i in range(runs):
        server.reply(Reply(content="ok"))
        start = time.perf_counter()
        ask(conversation, f"question {i}", AnswerView(Discard()))
        samples.append(server.chat_requests[-1]["received_at"] - start)
    return statistics.median(samples) * 1000


def measure(sizes: tuple[int, ...], context_tokens: int | None) -> dict[int, float]:
    server = FakeServer().start()
    results = {}
    try:
        with tempfile.TemporaryDirectory() as folder, SessionManager(Path(folder) / "tutor.db") as manager:
            client = ChatClient(server.base_url, API_KEY)
            client.warm_up()
            for size in sizes:
                fill(manager, f"s{size}", size)
                conversation = Conversation(
                    manager, client, "ada", f"s{size}", "deepseek-flash", context_override=context_tokens
                )
                ask(conversation, "warm-up", AnswerView(Discard()))
                results[size] = latency_ms(server, conversation, 15)
    finally:
        server.stop()
    label = f"context {context_tokens:,} tokens" if context_tokens else "whole session sent"
    for size, ms in results.items():
        print(f"[{label}] Enter to request, {size:>7,} messages: {ms:6.1f} ms (median of 15; target < 50 ms)")
    small, large = results[sizes[0]], results[sizes[-1]]
    print(f"[{label}] ratio {sizes[-1]:,} / {sizes[0]:,} messages: {large / small:.2f}x")
    return results


def main() -> None:
    # Issue 4: the whole 10,000-message session fits a 1M window and is sent every time.
    measure((100, 10_000), None)
    # Issue 5: a 6,000-token window holds about 80-130 of these messages (it trims to 60% and
    # grows back), so both sessions send requests of similar size: what differs is only how long
    # the session is.
    measure((100, 100_000), 6_000)


if __name__ == "__main__":
    main()
