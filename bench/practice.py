"""Practice at scale: with 20,000 cards and 200,000 logged reviews, how long until `tutor review`
shows its first question (in a pseudo-terminal) and until `tutor progress` has printed.

Run: python bench/practice.py [--runs N]     (target: both within 300 ms)

The history is made by the fsrs package itself: 20,000 cards in four decks, each rated ten times
(200,000 ratings), states as FSRS left them, so some cards are due now (see `build`).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CARDS = 20_000
REVIEWS_PER_CARD = 10
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def build(home: Path) -> None:
    import fsrs

    from tutor_cli import SessionManager, practice
    from tutor_cli.store.practice import REVIEW_COLUMNS, SECONDS_PER_DAY

    random.seed(7)
    scheduler = fsrs.Scheduler()
    start = NOW - timedelta(days=365)
    with SessionManager(home / "tutor.db") as manager:
        store = manager.store
        for deck in range(4):
            cards = [practice.NewCard(f"deck {deck} question {n}?", f"answer {n}") for n in range(CARDS // 4)]
            practice.import_deck(store, "ada", f"deck{deck}", cards, start.timestamp())
        with store._reading() as conn:
            ids = conn.execute("SELECT id, deck_id FROM cards ORDER BY id").fetchall()
        states, reviews = [], []
        for card_id, deck_id in ids:
            # A history of ten ratings, each given when the card fell due (sometimes late), made by
            # FSRS from an arbitrary start, then moved in time so its last rating falls in the last
            # 60 days: some cards are due now, most later, and the last 14 days hold a few thousand
            # ratings (a student who reviews daily).
            card = fsrs.Card(card_id=card_id, due=start)
            moment = start
            history = []
            for _ in range(REVIEWS_PER_CARD):
                rating = random.choices((1, 2, 3, 4), weights=(1, 2, 6, 1))[0]
                card, _ = scheduler.review_card(card, fsrs.Rating(rating), moment)
                history.append((rating, moment.timestamp(), card))
                moment = card.due + timedelta(hours=random.uniform(0, 48))
            shift = NOW.timestamp() - random.uniform(60, 60 * SECONDS_PER_DAY) - history[-1][1]
            for rating, reviewed, after in history:
                reviewed += shift
                reviews.append(
                    ("ada", card_id, deck_id, rating, reviewed, int(reviewed // SECONDS_PER_DAY), None, None,
                     int(after.state), after.due.timestamp() + shift, after.stability, after.difficulty)
                )  # fmt: skip
            state = practice.from_fsrs(card)
            states.append(
                ("ada", card_id, deck_id, state.state, state.step, state.stability, state.difficulty,
                 state.due + shift, state.last_review + shift)
            )  # fmt: skip
        with store._transaction() as conn:
            conn.executemany(
                "INSERT INTO card_states (student_id, card_id, deck_id, state, step, stability, difficulty, due,"
                " last_review) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                states,
            )
            conn.executemany(
                f"INSERT INTO reviews ({', '.join(REVIEW_COLUMNS)}) VALUES ({', '.join('?' * len(REVIEW_COLUMNS))})",
                reviews,
            )
            conn.execute("ANALYZE")


def first_question_ms(env: dict[str, str]) -> tuple[float, str]:
    """Start `tutor review` in a pseudo-terminal; time until its first question is on screen."""
    import pexpect

    env = {**env, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    start = time.perf_counter()
    child = pexpect.spawn(
        sys.executable, ["-m", "tutor_cli", "review"], env=env, encoding="utf-8", dimensions=(40, 100), timeout=30
    )
    child.expect(r"question \d+\?")
    elapsed = (time.perf_counter() - start) * 1000
    shown = child.after
    child.expect_exact("your answer ›")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    return elapsed, shown


def command_ms(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "tutor_cli", *args], env=env, capture_output=True, text=True)
    elapsed = (time.perf_counter() - start) * 1000
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return elapsed, result.stdout


def in_process(home: Path, runs: int) -> dict[str, list[float]]:
    """The store's share, without interpreter start-up: the queries behind the two commands."""
    from tutor_cli import SessionManager, practice

    now = NOW.timestamp()
    scheduler = practice.scheduler(fixed_clock=True)
    times: dict[str, list[float]] = {"  in process: next due card": [], "  in process: progress figures": []}
    with SessionManager(home / "tutor.db") as manager:
        for _ in range(runs):
            start = time.perf_counter()
            manager.store.next_card("ada", now)
            times["  in process: next due card"].append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            practice.progress(manager.store, scheduler, "ada", now)
            times["  in process: progress figures"].append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=11)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        began = time.perf_counter()
        build(home)
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "TUTOR_HOME": str(home),
            "TUTOR_STUDENT": "ada",
            "TUTOR_NOW": NOW.isoformat(),
            "DEEPSEEK_API_KEY": "",
            "COLUMNS": "120",
        }
        import sqlite3

        with sqlite3.connect(home / "tutor.db") as conn:
            cards, reviews, due = (
                conn.execute("SELECT count(*) FROM cards").fetchone()[0],
                conn.execute("SELECT count(*) FROM reviews").fetchone()[0],
                conn.execute("SELECT count(*) FROM card_states WHERE due <= ?", (NOW.timestamp(),)).fetchone()[0],
            )
        print(
            f"store: {cards:,} cards, {reviews:,} reviews, {due:,} due now"
            f" (built in {time.perf_counter() - began:.0f} s)"
        )
        figures: dict[str, list[float]] = {
            "review: first question": [],
            "progress (table)": [],
            "progress --format json": [],
        }
        first_question_ms(env)  # warm the file cache
        for _ in range(options.runs):
            elapsed, _ = first_question_ms(env)
            figures["review: first question"].append(elapsed)
            figures["progress (table)"].append(command_ms(["progress"], env)[0])
            figures["progress --format json"].append(command_ms(["progress", "--format", "json"], env)[0])
        baseline = [command_ms(["--version"], env)[0] for _ in range(options.runs)]
        print(command_ms(["progress"], env)[1].rstrip())
        figures.update(in_process(home, options.runs))
        for name, times in {**figures, "tutor --version (start-up alone)": baseline}.items():
            print(
                f"{name:34} median {statistics.median(times):6.1f} ms"
                f"   min {min(times):6.1f} ms   max {max(times):6.1f} ms"
            )
        print("target: review's first question and progress within 300 ms")


if __name__ == "__main__":
    main()
