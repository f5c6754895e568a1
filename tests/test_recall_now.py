"""`tutor progress` reports the recall probability FSRS's forgetting curve gives at this moment,
learning cards included: a card just failed is not shown as certain to be recalled."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import fsrs
import pytest

from tests.test_practice import _card, write
from tutor_cli import SessionManager, practice

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def rate(home, question: str, rating: int, moment: datetime) -> None:
    with SessionManager(home / "tutor.db") as manager:
        practice.rate(
            manager.store, practice.scheduler(fixed_clock=True), "ada", _card(manager.store, question), rating,
            moment.timestamp(),
        )  # fmt: skip


def progress_at(run_tutor, moment: datetime) -> tuple[dict, str]:
    env = {"TUTOR_NOW": moment.isoformat().replace("+00:00", "Z"), "COLUMNS": "120"}
    figures = json.loads(run_tutor("progress", "--format", "json", env=env).stdout)[0]
    table = run_tutor("progress", env=env).stdout
    row = next(line for line in table.splitlines() if "basics" in line)
    return figures, [cell.strip() for cell in row.split("│")[1:-1]][5]


def curve_at(stability: float, elapsed: timedelta) -> float:
    """FSRS's forgetting curve, R = (1 + factor · t / S) ^ decay, at an elapsed time t in days."""
    scheduler = fsrs.Scheduler()
    return (1 + scheduler._FACTOR * (elapsed.total_seconds() / 86400) / stability) ** scheduler._DECAY


def test_a_card_rated_again_is_not_shown_as_certain_a_minute_later(run_tutor, home, tmp_path) -> None:
    run_tutor("deck", "import", str(write(tmp_path / "basics.csv", "question,answer\nq1,a1\nq2,a2\n")))
    rate(home, "q1", 1, T0)
    figures, shown = progress_at(run_tutor, T0 + timedelta(minutes=1))
    assert figures["due"] == 1  # the learning step has come round
    assert figures["retrievability"] < 1
    assert shown != "100%" and shown.endswith("%")


def test_within_the_first_day_recall_follows_the_curve_not_whole_days(run_tutor, home, tmp_path) -> None:
    run_tutor("deck", "import", str(write(tmp_path / "basics.csv", "question,answer\nq1,a1\n")))
    rate(home, "q1", 1, T0)
    with SessionManager(home / "tutor.db") as manager:
        stability = manager.store.card_state("ada", _card(manager.store, "q1").id).stability
    for elapsed in (timedelta(hours=1), timedelta(hours=12), timedelta(days=2, hours=6)):
        figures, shown = progress_at(run_tutor, T0 + elapsed)
        expected = curve_at(stability, elapsed)
        assert figures["retrievability"] == pytest.approx(expected, abs=1e-4), elapsed
        assert shown == f"{round(expected * 100)}%"
    assert curve_at(stability, timedelta(hours=12)) < 0.9  # half a day on, a failed card is well below certain


@pytest.mark.parametrize(("value", "shown"), [(1.0, "100%"), (0.99996, "99%"), (0.905, "90%"), (0.0, "0%")])
def test_a_recall_below_certain_never_reads_100_percent(value: float, shown: str) -> None:
    assert practice.recall_percent(value) == shown
