"""The profile's cost to the student: Enter-to-request with and without a profile present (same
run), and what a background update adds to a turn (the hook's time, and Enter-to-request while an
update is in flight at a slow server).

Run: python bench/profile.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from latency import Discard, fill  # noqa: E402

from tests.fake_server import API_KEY, FakeServer, Reply  # noqa: E402
from tutor_cli.client import ChatClient  # noqa: E402
from tutor_cli.profile import PROFILE_MAX_TOKENS, BackgroundUpdates  # noqa: E402
from tutor_cli.sessions import SessionManager  # noqa: E402
from tutor_cli.turn import Conversation, ask  # noqa: E402
from tutor_cli.views.answer import AnswerView  # noqa: E402

RUNS = 25
NOTES = ("- Level: first-year algebra; comfortable with linear equations.\n" * 40)[: PROFILE_MAX_TOKENS * 4]


def enter_to_request(server: FakeServer, conversation: Conversation, runs: int = RUNS) -> list[float]:
    samples = []
    for i in range(runs):
        server.reply(Reply(content="ok"))
        start = time.perf_counter()
        ask(conversation, f"question {i}", AnswerView(Discard()))
        samples.append((server.chat_requests[-1]["received_at"] - start) * 1000)
    return samples


def main() -> None:
    server = FakeServer().start()
    try:
        with tempfile.TemporaryDirectory() as folder, SessionManager(Path(folder) / "tutor.db") as manager:
            client = ChatClient(server.base_url, API_KEY)
            client.warm_up()
            conversations = {}
            for profile in (False, True):
                session = f"s-{profile}"
                fill(manager, session, 100)
                if profile:
                    manager.store.save_profile("ada", NOTES)
                    manager.store.take_profile_snapshot("ada", session)
                conversations[profile] = Conversation(
                    manager, client, "ada", session, "deepseek-flash", use_profile=profile
                )
                ask(conversations[profile], "warm-up", AnswerView(Discard()))
            samples: dict[bool, list[float]] = {False: [], True: []}
            for _ in range(RUNS):  # interleaved, so both see the same machine
                for profile in (False, True):
                    samples[profile] += enter_to_request(server, conversations[profile], runs=1)
            base, with_profile = statistics.median(samples[False]), statistics.median(samples[True])
            print(f"Enter to request, 100-message session, without a profile: {base:6.2f} ms (median of {RUNS})")
            print(f"Enter to request, 100-message session, with a profile: {with_profile:6.2f} ms (median of {RUNS})")
            print(f"ratio with/without: {with_profile / base:.2f}x (target <= 1.2x and < 50 ms)")

            # Updates in the background, the server taking 2 s to answer each profile request.
            updates = BackgroundUpdates(
                manager.store,
                lambda: ChatClient(server.base_url, API_KEY),
                "ada",
                lambda: "deepseek-flash",
                lambda: None,
                Path(folder),
                None,
            )
            hook_ms: list[float] = []

            def timed_hook() -> None:
                start = time.perf_counter()
                updates.after_answer()
                hook_ms.append((time.perf_counter() - start) * 1000)

            conversation = Conversation(
                manager, client, "ada", "s-True", "deepseek-flash", use_profile=True, on_answer=timed_hook
            )
            server.reply_to_profile(*[Reply(content="- notes", first_delay=2.0)] * RUNS)
            ask(conversation, "start an update", AnswerView(Discard()))
            busy = statistics.median(enter_to_request(server, conversation))
            print(f"Enter to request while an update is in flight: {busy:6.2f} ms (median of {RUNS})")
            print(
                f"time the update adds to a turn (the hook): median {statistics.median(hook_ms):.3f} ms,"
                f" max {max(hook_ms):.3f} ms over {len(hook_ms)} answers"
            )
            print(f"profile requests made meanwhile: {len(server.profile_requests)} (one thread at a time)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
