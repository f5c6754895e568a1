"""The teacher's desk on both backends: search, the watch list and flags, the class overview;
in the class database, who may see what is checked with each role's own credentials in raw SQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import psycopg
import pytest

from tests.conftest import assert_no_traceback, class_accounts
from tutor_cli import SessionManager

USAGE = {"prompt_tokens": 1000, "completion_tokens": 200, "cache_hit_tokens": 600, "cache_miss_tokens": 400}


def fill(manager: SessionManager, ada: str = "ada", bob: str = "bob") -> None:
    """Two students' sessions with text in several scripts; ada's second question is the newest."""
    manager.create_session(ada, "algebra", "p")
    manager.add_message(ada, "algebra", "user", "How do I use the Quadratic Formula?")
    manager.store.add_message(
        ada, "algebra", "assistant", "The quadratic formula is $x = -b$.", model="deepseek-flash", usage=USAGE
    )
    manager.create_session(bob, "chinese", "p")
    manager.add_message(bob, "chinese", "user", "怎么解方程？ ПРИВЕТ, I want to cheat on the test")
    manager.store.add_message(bob, "chinese", "assistant", "先移项。", model="deepseek-flash", usage=USAGE)
    manager.add_message(ada, "algebra", "user", "and a 100% discount_code? I might CHEAT")


@pytest.fixture(params=["sqlite", "postgres"])
def store_manager(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        manager = SessionManager(tmp_path / "tutor.db")
    else:
        manager = SessionManager(request.getfixturevalue("pg_url"))
    fill(manager)
    yield manager
    manager.close()


def test_search_finds_substrings_in_any_script_case_insensitively_newest_first(store_manager) -> None:
    from tutor_cli import desk

    store = store_manager.store
    hits = desk.search(store, ["quadratic"], None)
    assert [(h.message.student_id, h.message.role) for h in hits] == [("ada", "assistant"), ("ada", "user")]
    assert hits[1].snippet == "How do I use the «Quadratic» Formula?"
    assert [h.message.student_id for h in desk.search(store, ["привет"], None)] == ["bob"]
    # Two CJK characters: below the trigram index's three, found by the LIKE path.
    assert [h.message.content for h in desk.search(store, ["方程"], None)] == [
        "怎么解方程？ ПРИВЕТ, I want to cheat on the test"
    ]
    assert [h.message.role for h in desk.search(store, ["移"], None)] == ["assistant"]
    # Every term must be there; LIKE's wildcards are literal text.
    assert [h.message.session_id for h in desk.search(store, ["quadratic", "use"], None)] == ["algebra"]
    assert desk.search(store, ["quadratic", "方程"], None) == []
    assert [h.message.content[:5] for h in desk.search(store, ["0%"], None)] == ["and a"]
    assert desk.search(store, ["o_c"], None) == [] and len(desk.search(store, ["t_c"], None)) == 1
    assert [h.message.student_id for h in desk.search(store, ["cheat"], "bob")] == ["bob"]


def test_the_index_follows_deleted_sessions(store_manager) -> None:
    from tutor_cli import desk

    store_manager.store.delete_session("ada", "algebra")
    assert desk.search(store_manager.store, ["quadratic"], None) == []
    assert len(desk.search(store_manager.store, ["cheat"], None)) == 1


def test_watch_phrases_flag_student_messages_only_and_follow_the_list(store_manager) -> None:
    from tutor_cli import desk

    store = store_manager.store
    assert desk.flags(store) == []
    assert desk.add_watch(store, "cheat") == ("cheat", True)
    assert desk.add_watch(store, "  CHEAT ") == ("CHEAT", False)
    desk.add_watch(store, "先移")  # only in an answer: never a flag
    flagged = desk.flags(store)
    assert [(h.message.student_id, h.matched) for h in flagged] == [("ada", ("cheat",)), ("bob", ("cheat",))]
    assert flagged[0].snippet.endswith("I might «CHEAT»")
    desk.remove_watch(store, "Cheat")
    assert desk.flags(store) == []
    with pytest.raises(desk.TutorError, match="not on the watch list"):
        desk.remove_watch(store, "cheat")


def test_the_overview_has_every_figure_per_student(store_manager) -> None:
    from tutor_cli import desk
    from tutor_cli.pricing import PriceTable

    desk.add_watch(store_manager.store, "cheat")
    rows = {row.student_id: row for row in desk.overview(store_manager.store, PriceTable(), None)}
    assert set(rows) == {"ada", "bob"}
    ada = rows["ada"]
    assert (ada.sessions, ada.questions, ada.tokens, ada.flags) == (1, 2, 1200, 1)
    assert ada.cost_usd is not None and ada.cost_usd > 0
    assert ada.cards_reviewed == 0  # nothing practised yet
    later = desk.overview(store_manager.store, PriceTable(), ada.last_active + 3600)
    assert later == []


def test_cards_reviewed_come_from_the_practice_log(tmp_path: Path) -> None:
    from tutor_cli import desk, practice
    from tutor_cli.pricing import PriceTable

    now = 1_795_000_000.0
    with SessionManager(tmp_path / "tutor.db") as manager:
        fill(manager)
        store = manager.store
        cards = [practice.NewCard("2+2?", "4", None), practice.NewCard("3+3?", "6", None)]
        practice.import_deck(store, "ada", "sums", cards, now)
        for rating in (3, 1):
            practice.rate(store, practice.scheduler(fixed_clock=True), "ada", store.next_card("ada", now), rating, now)
        rows = {row.student_id: row.cards_reviewed for row in desk.overview(store, PriceTable(), None)}
    assert rows == {"ada": 2, "bob": 0}


# --- the commands -------------------------------------------------------------------------


@pytest.fixture
def personal_store(home: Path) -> Path:
    with SessionManager(home / "tutor.db") as manager:
        fill(manager)
    return home


def test_search_command_searches_your_own_messages_unless_asked_for_all(run_tutor, personal_store) -> None:
    mine = json.loads(run_tutor("search", "cheat", "-f", "json").stdout)
    assert [(h["student_id"], h["session_id"], h["role"]) for h in mine] == [("ada", "algebra", "user")]
    assert set(mine[0]) == {"student_id", "session_id", "created_at", "role", "snippet"}
    assert "«CHEAT»" in mine[0]["snippet"]
    everyone = json.loads(run_tutor("search", "cheat", "--all-students", "-f", "json").stdout)
    assert [h["student_id"] for h in everyone] == ["ada", "bob"]
    table = run_tutor("search", "方程", "--student", "bob", env={"COLUMNS": "160"})
    assert table.returncode == 0 and "怎么解方程" in table.stdout and "«" not in table.stdout
    none = run_tutor("search", "nothing-like-this")
    assert none.returncode == 0 and "No messages of ada hold nothing-like-this" in none.stdout


def test_search_without_words_is_one_sentence(run_tutor, personal_store) -> None:
    result = run_tutor("search", "  ")
    assert result.returncode == 1 and "at least one word" in result.stderr
    assert_no_traceback(result)


def test_overview_command_in_table_json_and_csv(run_tutor, personal_store) -> None:
    assert run_tutor("admin", "watch", "add", "cheat").returncode == 0
    records = json.loads(run_tutor("class", "overview", "-f", "json").stdout)
    assert [r["student_id"] for r in records] == ["ada", "bob"]
    assert set(records[0]) == {
        "student_id",
        "sessions",
        "questions",
        "last_active",
        "tokens",
        "tokens_estimated",
        "cost_usd",
        "cards_reviewed",
        "flags",
    }
    assert records[0]["tokens_estimated"] is False
    assert (records[0]["questions"], records[0]["flags"], records[0]["tokens"]) == (2, 1, 1200)
    rows = list(csv.DictReader(io.StringIO(run_tutor("class", "overview", "-f", "csv").stdout)))
    assert [(r["student_id"], r["flags"]) for r in rows] == [("ada", "1"), ("bob", "1")]
    table = run_tutor("class", "overview", env={"COLUMNS": "120"}).stdout
    assert "ada" in table and "bob" in table and "Flags" in table
    future = run_tutor("class", "overview", "--since", "2999-01-01")
    assert future.returncode == 0 and "No student activity since then." in future.stdout
    bad = run_tutor("class", "overview", "--since", "last week")
    assert bad.returncode == 1 and "--since must be a date" in bad.stderr
    assert_no_traceback(bad)


def test_watch_and_flags_commands(run_tutor, personal_store) -> None:
    assert "empty" in run_tutor("admin", "watch", "list").stdout
    assert run_tutor("admin", "watch", "add", "I want to cheat").stdout.strip() == "Watching for 'I want to cheat'."
    assert "already" in run_tutor("admin", "watch", "add", "i WANT to cheat").stdout
    listed = run_tutor("admin", "watch", "list").stdout
    assert "Phrase" in listed and "Added" in listed and "I want to cheat" in listed
    assert [p["phrase"] for p in json.loads(run_tutor("admin", "watch", "list", "-f", "json").stdout)] == [
        "I want to cheat"
    ]
    flagged = json.loads(run_tutor("class", "flags", "-f", "json").stdout)
    assert flagged == [
        {
            "student_id": "bob",
            "session_id": "chinese",
            "created_at": flagged[0]["created_at"],
            "matched": ["I want to cheat"],
            "snippet": "怎么解方程？ ПРИВЕТ, «I want to cheat» on the test",
        }
    ]
    missing = run_tutor("admin", "watch", "remove", "never added")
    assert missing.returncode == 1 and "not on the watch list" in missing.stderr
    assert run_tutor("admin", "watch", "remove", "I WANT TO CHEAT").returncode == 0
    assert "No flagged messages." in run_tutor("class", "flags").stdout


# --- the class database: who sees what --------------------------------------------------------


@pytest.fixture
def school(pg_url: str):
    names, urls = class_accounts(pg_url)
    for who in ("ada", "bob"):
        with SessionManager(urls[who]) as manager:
            manager.create_session(names[who], "homework", "p")
            manager.add_message(names[who], "homework", "user", f"{who} wants to cheat on the 方程 homework")
    yield names, urls
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for role in names.values():
            conn.execute(f'DROP OWNED BY "{role}"')
            conn.execute(f'DROP ROLE "{role}"')


def test_a_student_searches_only_their_own_messages_even_asking_for_all(run_tutor, school) -> None:
    names, urls = school
    env = {"TUTOR_DATABASE_URL": urls["ada"]}
    for args in (["search", "cheat"], ["search", "方程", "--all-students"]):
        found = json.loads(run_tutor(*args, "-f", "json", env=env).stdout)
        assert [h["student_id"] for h in found] == [names["ada"]]
    other = run_tutor("search", "cheat", "--student", names["bob"], env=env)
    assert other.returncode == 1 and "signed in as" in other.stderr
    # The database, not the client, keeps bob's rows away: the store asked for everyone's.
    with SessionManager(urls["ada"]) as ada:
        assert {m.student_id for m in ada.store.search_messages(["cheat"], None, 50)} == {names["ada"]}


def test_a_teacher_searches_the_class(run_tutor, school) -> None:
    names, urls = school
    env = {"TUTOR_DATABASE_URL": urls["tess"]}
    found = json.loads(run_tutor("search", "cheat", "-f", "json", env=env).stdout)
    assert [h["student_id"] for h in found] == [names["bob"], names["ada"]]
    only_bob = json.loads(run_tutor("search", "方程", "--student", names["bob"], "-f", "json", env=env).stdout)
    assert [h["student_id"] for h in only_bob] == [names["bob"]]


def test_flags_and_the_watch_list_are_for_teachers_only(run_tutor, school) -> None:
    names, urls = school
    tess = {"TUTOR_DATABASE_URL": urls["tess"]}
    assert run_tutor("admin", "watch", "add", "cheat", env=tess).returncode == 0
    flagged = json.loads(run_tutor("class", "flags", "-f", "json", env=tess).stdout)
    assert {f["student_id"] for f in flagged} == {names["ada"], names["bob"]}
    overview = json.loads(run_tutor("class", "overview", "-f", "json", env=tess).stdout)
    assert {(r["student_id"], r["flags"]) for r in overview} == {(names["ada"], 1), (names["bob"], 1)}
    ada = {"TUTOR_DATABASE_URL": urls["ada"]}
    for args in (["class", "flags"], ["class", "overview"], ["admin", "watch", "list"], ["admin", "watch", "add", "x"]):
        result = run_tutor(*args, env=ada)
        assert result.returncode == 1 and "is for teachers" in result.stderr, args
        assert_no_traceback(result)


def test_raw_sql_with_a_students_credentials_cannot_read_or_change_the_watch_list(school) -> None:
    names, urls = school
    with SessionManager(urls["tess"]) as tess:
        from tutor_cli import desk

        desk.add_watch(tess.store, "cheat")
    with psycopg.connect(urls["ada"], autocommit=True) as conn:
        for statement in (
            "SELECT phrase FROM watch_phrases",
            "SELECT count(*) FROM watch_phrases",
            "INSERT INTO watch_phrases (phrase, folded, added_at) VALUES ('x', 'x', 0)",
            "DELETE FROM watch_phrases",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        # What a student can compute is their own messages only: the flags' source rows of
        # another student are invisible to them.
        rows = conn.execute("SELECT student_id FROM messages WHERE content ILIKE '%%cheat%%'").fetchall()
        assert rows == [(names["ada"],)]
    with psycopg.connect(urls["tess"], autocommit=True) as conn:
        assert conn.execute("SELECT phrase FROM watch_phrases").fetchall() == [("cheat",)]
        rows = conn.execute("SELECT student_id FROM messages WHERE content ILIKE '%%cheat%%'").fetchall()
        assert {row[0] for row in rows} == {names["ada"], names["bob"]}


def test_the_watch_lists_words_reach_no_student_not_even_through_the_statistics(school) -> None:
    names, urls = school
    words = [f"zebrafinch {n} quokka" for n in range(40)]  # enough rows for most-common values and histograms
    with SessionManager(urls["tess"]) as tess:
        from tutor_cli import desk

        for phrase in words:
            desk.add_watch(tess.store, phrase)
    with psycopg.connect(urls["admin"], autocommit=True) as conn:
        conn.execute("ANALYZE")  # what autovacuum does on its own, sooner or later
        assert conn.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'watch_phrases'").fetchone()[0] > 0
    with psycopg.connect(urls["ada"], autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'watch_phrases'").fetchone()[0] == 0
        # Every catalog table and view a student may read (pg_stats and pg_stats_ext among them;
        # information_schema only re-presents these), read whole: none holds a watched word.
        # The list's row count does show (pg_class.reltuples): README, accepted leaks.
        readable = conn.execute(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname IN ('pg_catalog', 'public') AND c.relkind IN ('r', 'v', 'm')"
            " AND has_table_privilege(c.oid, 'SELECT')"
        ).fetchall()
        assert {"pg_catalog.pg_stats", "pg_catalog.pg_stats_ext", "public.messages"} <= {row[0] for row in readable}
        for (relation,) in readable:
            found = conn.execute(  # the word as a parameter: not in this query's own text
                f"SELECT count(*) FROM {relation} t WHERE strpos(t::text, %s) > 0", ("quokka",)
            ).fetchone()[0]
            assert found == 0, relation


def test_usage_is_split_by_peak_hours_exactly_as_the_price_rule_says(store_manager) -> None:
    from datetime import UTC, datetime

    from tutor_cli.pricing import is_peak

    moments = [
        datetime(2026, 11, 23, 2, 30, tzinfo=UTC).timestamp(),  # Monday, peak
        datetime(2026, 11, 28, 2, 30, tzinfo=UTC).timestamp(),  # Saturday, off-peak
        datetime(2026, 11, 23, 5, 59, 59, tzinfo=UTC).timestamp() + 0.9,  # a tenth before 06:00: off-peak
        datetime(2026, 11, 27, 9, 59, 59, tzinfo=UTC).timestamp() + 0.9,  # Friday, last peak second
    ]
    manager = store_manager
    ids = [
        manager.store.add_message("ada", "algebra", "assistant", "a", model="deepseek-flash", usage=USAGE)
        for _ in moments
    ]
    with manager.store._transaction() as conn:
        manager.store._run(conn, "DELETE FROM messages WHERE role = 'assistant' AND id < ?", (min(ids),))
        for message_id, moment in zip(ids, moments, strict=True):
            manager.store._run(conn, "UPDATE messages SET created_at = ? WHERE id = ?", (moment, message_id))
    rows = manager.store.usage_by_student(None, "ada")
    by_peak = {bool(row[2]): row[3] for row in rows}
    expected_peak = sum(1 for moment in moments if is_peak(moment))
    assert [is_peak(m) for m in moments] == [True, False, False, True]
    assert by_peak == {True: 1000 * expected_peak, False: 1000 * (len(moments) - expected_peak)}
