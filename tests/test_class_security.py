"""The class store under attack (issue 9): a student with psql and their own password, raw SQL.

Each test is one break a hostile student found, attempted with the student's own credentials
against the real PostgreSQL server, then what the other students and the teacher see.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from tests.conftest import as_user, assert_no_traceback, create_database, drop_database
from tutor_cli import SessionManager, StoreError, TutorError, practice
from tutor_cli.store.postgres import LOCK_TIMEOUT_MS, STUDENT_GROUP, TEACHER_GROUP, PostgresStore
from tutor_cli.store.rls import group_names
from tutor_cli.store.schema import MIGRATIONS


def session_pk(urls: dict[str, str], student: str, session: str = "homework") -> int:
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(
            "SELECT id FROM sessions WHERE student_id = %s AND session_id = %s", (student, session)
        ).fetchone()[0]


def transcript(urls: dict[str, str], student: str) -> list[str]:
    with SessionManager(urls["tess"]) as tess:
        return [m["content"] for m in tess.get_conversation(student, "homework")[1:]]


# --- 1. messages belong to their session's student; nobody alters a stored message ----------


def test_a_student_cannot_put_messages_into_another_students_session(classroom) -> None:
    names, urls = classroom
    ada_pk = session_pk(urls, names["ada"])
    with psycopg.connect(urls["bob"], autocommit=True) as bob:
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            bob.execute(
                "INSERT INTO messages (session_pk, student_id, role, content, created_at, prompt_tokens)"
                " VALUES (%s, %s, 'user', 'bob was here', 0, 2000000000)",
                (ada_pk, names["bob"]),
            )
        bob_message = bob.execute("SELECT id FROM messages").fetchone()[0]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("UPDATE messages SET session_pk = %s WHERE id = %s", (ada_pk, bob_message))
    assert transcript(urls, names["ada"]) == ["secret question of ada"]


def test_a_student_cannot_rewrite_or_remove_their_own_stored_messages(classroom) -> None:
    names, urls = classroom
    with psycopg.connect(urls["ada"], autocommit=True) as ada:
        for statement in (
            "UPDATE messages SET content = 'I always knew this'",
            "UPDATE messages SET role = 'assistant'",
            "UPDATE messages SET created_at = 0",
            "DELETE FROM messages",
            "TRUNCATE messages",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                ada.execute(statement)
        for statement in ("UPDATE sessions SET student_id = 'x'", "UPDATE sessions SET id = 999999"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                ada.execute(statement)
    assert transcript(urls, names["ada"]) == ["secret question of ada"]


def test_a_student_deletes_a_whole_session_of_their_own_with_its_messages(classroom) -> None:
    names, urls = classroom
    with psycopg.connect(urls["ada"], autocommit=True) as ada:
        assert ada.execute("DELETE FROM sessions WHERE session_id = 'homework'").rowcount == 1
    with psycopg.connect(urls["admin"]) as admin:
        students = [row[0] for row in admin.execute("SELECT student_id FROM messages")]
    assert students == [names["bob"]]  # ada's messages went with her session; bob's stayed


# --- 1b. card states and reviews name only cards their student may read ----------------------

STATE_SQL = (
    "INSERT INTO card_states (student_id, card_id, deck_id, state, step, stability, difficulty, due, last_review)"
    " VALUES (%s, %s, %s, 2, NULL, 3.0, 5.0, 0, 0)"
)
REVIEW_SQL = (
    "INSERT INTO reviews (student_id, card_id, deck_id, rating, reviewed_at, day, state, due)"
    " VALUES (%s, %s, %s, 3, 0, 0, 2, 0)"
)


def decks_of_the_class(urls: dict[str, str], names: dict[str, str]) -> dict[str, tuple[int, int]]:
    """ada's private deck and a class deck, one card each: {'ada': (card, deck), 'class': (card, deck)}."""
    with SessionManager(urls["ada"]) as ada:
        ada.store.import_cards(names["ada"], "private", [("ada's secret card", "x", None, "h1")], 0)
    with SessionManager(urls["tess"]) as tess:
        tess.store.import_cards("", "week1", [("class card", "y", None, "h2")], 0)
    with psycopg.connect(urls["admin"]) as admin:
        rows = admin.execute("SELECT student_id, id, deck_id FROM cards").fetchall()
    return {("class" if owner == "" else "ada"): (card, deck) for owner, card, deck in rows}


def test_a_student_cannot_hang_a_state_or_review_on_anothers_private_card(classroom) -> None:
    names, urls = classroom
    cards = decks_of_the_class(urls, names)
    bob = names["bob"]
    with psycopg.connect(urls["bob"], autocommit=True) as conn:
        refusals = []
        for statement in (STATE_SQL, REVIEW_SQL, STATE_SQL + " ON CONFLICT (student_id, card_id) DO NOTHING"):
            for card, deck in (cards["ada"], (999_999, cards["ada"][1])):  # ada's card, and no card at all
                with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
                    conn.execute(statement, (bob, card, deck))
                refusals.append(str(refused.value))
        # The same sentence whether the card is ada's or does not exist: nothing learnt about ada's deck.
        assert len(set(refusals)) == 2 and all("row-level security" in r for r in refusals), refusals
        # A class card is everyone's to review, with the deck it is in and no other.
        conn.execute(STATE_SQL, (bob, *cards["class"]))
        conn.execute(REVIEW_SQL, (bob, *cards["class"]))
        with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.ForeignKeyViolation)):
            conn.execute(REVIEW_SQL, (bob, cards["class"][0], cards["ada"][1]))
    with psycopg.connect(urls["admin"]) as admin:
        rows = admin.execute(
            "SELECT student_id, card_id FROM card_states UNION ALL SELECT student_id, card_id FROM reviews"
        )
        assert sorted(rows.fetchall()) == [(bob, cards["class"][0])] * 2
    with SessionManager(urls["ada"]) as ada:  # ada's own reviews of her own card still work
        card = ada.store.next_card(names["ada"], 0, deck="private")
        practice.rate(ada.store, practice.scheduler(fixed_clock=True), names["ada"], card, 3, 10.0)
        assert ada.store.card_state(names["ada"], card.id) is not None


def test_a_student_cannot_probe_anothers_deck_for_a_card_through_its_uniqueness(classroom) -> None:
    names, urls = classroom
    cards = decks_of_the_class(urls, names)
    card = (
        "INSERT INTO cards (deck_id, student_id, question, answer, content_hash, created_at)"
        " VALUES (%s, %s, 'guess', 'guess', %s, 0)"
    )
    with psycopg.connect(urls["bob"], autocommit=True) as conn:
        for deck in (cards["ada"][1], cards["class"][1]):
            outcomes = []
            for digest in ("h1", "h2", "no such card"):  # ada's card, the class card, neither
                for conflict in ("", " ON CONFLICT DO NOTHING"):
                    with pytest.raises(psycopg.Error) as refused:
                        conn.execute(card + conflict, (deck, names["bob"], digest))
                    outcomes.append(type(refused.value))
            assert set(outcomes) == {psycopg.errors.ForeignKeyViolation}, (deck, outcomes)


# --- 2. no ids ahead of the sequence -------------------------------------------------------


def test_a_student_cannot_claim_ids_ahead_of_the_sequence(classroom) -> None:
    names, urls = classroom
    bob_pk = session_pk(urls, names["bob"])
    with psycopg.connect(urls["bob"], autocommit=True) as bob:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute(
                "INSERT INTO messages (id, session_pk, student_id, role, content, created_at)"
                " SELECT n, %s, %s, 'user', 'x', 0 FROM generate_series(1, 5000) n ON CONFLICT DO NOTHING",
                (bob_pk, names["bob"]),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute(
                "INSERT INTO sessions (id, student_id, session_id, system_prompt, created_at, updated_at)"
                " SELECT n, %s, 's' || n, 'p', 0, 0 FROM generate_series(1, 5000) n ON CONFLICT DO NOTHING",
                (names["bob"],),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("SELECT setval('messages_id_seq', 1000000)")
    with SessionManager(urls["ada"]) as ada:
        ada.create_session(names["ada"], "next", "p")
        ada.add_message(names["ada"], "next", "user", "still works")


# --- 3. learned context limits are one student's own ---------------------------------------


def test_a_learned_context_limit_affects_only_that_student_and_has_a_floor(classroom) -> None:
    names, urls = classroom
    with SessionManager(urls["bob"]) as bob:
        bob.window.learn(names["bob"], "deepseek-flash", 700)  # a hostile server's claim
        assert bob.window.tokens_for(names["bob"], "deepseek-flash", None) == 4_096
    with psycopg.connect(urls["bob"], autocommit=True) as bob:
        bob.execute("UPDATE model_limits SET context_tokens = 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute(
                "INSERT INTO model_limits (student_id, model, context_tokens, learned_at)"
                " VALUES (%s, 'deepseek-flash', 1, 0)",
                (names["ada"],),
            )
    with SessionManager(urls["ada"]) as ada:
        assert ada.store.learned_limit(names["ada"], "deepseek-flash") is None
        assert ada.window.tokens_for(names["ada"], "deepseek-flash", None) == 1_000_000
    with SessionManager(urls["bob"]) as bob:
        assert bob.store.learned_limit(names["bob"], "deepseek-flash") == 1
        assert bob.window.tokens_for(names["bob"], "deepseek-flash", None) == 4_096


# --- 4. timeouts and no more privilege than tutor needs ------------------------------------


def test_every_connection_has_a_lock_and_a_statement_timeout(classroom) -> None:
    names, urls = classroom
    with SessionManager(urls["ada"]) as ada, ada.store._reading() as conn:
        assert conn.execute("SHOW lock_timeout").fetchone()[0] == f"{LOCK_TIMEOUT_MS // 1000}s"
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "1min"
    with SessionManager(urls["ada"]) as ada:
        with pytest.raises(StoreError, match="took longer than 60 s") as caught, ada.store._reading() as conn:
            conn.execute("SET statement_timeout = '100ms'")
            conn.execute("SELECT pg_sleep(1)")
        assert "\n" not in str(caught.value)


def test_a_student_holding_a_lock_does_not_stall_another_for_longer_than_the_lock_timeout(classroom) -> None:
    names, urls = classroom
    with psycopg.connect(urls["bob"]) as bob:
        for statement in (
            "LOCK TABLE messages IN ACCESS EXCLUSIVE MODE",
            "LOCK TABLE messages IN SHARE MODE",
            "LOCK TABLE model_limits IN ACCESS EXCLUSIVE MODE",
            "TRUNCATE sessions",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bob.execute(statement)
            bob.rollback()
        # PostgreSQL 15 lets whoever may DELETE from a table lock it: bob may delete his sessions.
        bob.execute("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE")
        outcome: list[object] = []

        def ada_writes() -> None:
            started = time.monotonic()
            try:
                with SessionManager(urls["ada"]) as ada:
                    ada.add_message(names["ada"], "homework", "user", "are you there?")
                outcome.append("written")
            except TutorError as error:
                outcome.append(str(error))
            outcome.append(time.monotonic() - started)

        writer = threading.Thread(target=ada_writes)
        writer.start()
        writer.join(timeout=LOCK_TIMEOUT_MS / 1000 + 10)
        stalled = writer.is_alive()
        bob.rollback()  # lets a stalled writer go, so the test ends either way
        writer.join()
    assert not stalled, "ada waited for bob's lock for longer than the lock timeout"
    message, waited = outcome
    assert "busy" in message and "try again" in message
    assert waited < LOCK_TIMEOUT_MS / 1000 + 5
    with SessionManager(urls["ada"]) as ada:  # once bob lets go, ada's tutor works again
        ada.add_message(names["ada"], "homework", "user", "are you there?")


# --- 5. SET ROLE gives no second identity ---------------------------------------------------


def test_set_role_to_the_class_group_gives_nothing_more(classroom) -> None:
    names, urls = classroom
    student_group, teacher_group = group_names(urls["admin"].rsplit("/", 1)[1])
    with psycopg.connect(urls["bob"], autocommit=True) as bob:
        bob.execute(f"SET ROLE {student_group}")
        assert {row[0] for row in bob.execute("SELECT student_id FROM sessions")} == {names["bob"]}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute(
                "INSERT INTO sessions (student_id, session_id, system_prompt, created_at, updated_at)"
                " VALUES (%s, 'shared', 'p', 0, 0)",
                (student_group,),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute(f"SET ROLE {teacher_group}")
    with SessionManager(urls["ada"]) as ada:
        assert ada.store.list_sessions(student_group) == []
    with SessionManager(urls["tess"]) as tess:
        assert {s.student_id for s in tess.store.list_sessions(None)} == {names["ada"], names["bob"]}


# --- 6. two classes on one server ----------------------------------------------------------


@pytest.fixture
def second_class(postgres_cluster: str):
    url = create_database(postgres_cluster)
    admin = PostgresStore(url, migrate=True)
    name = "carl_" + url.rsplit("_", 1)[1]
    admin.add_member(name, "carl-pw", STUDENT_GROUP)
    admin.add_member("teo_" + url.rsplit("_", 1)[1], "teo-pw", TEACHER_GROUP)
    admin.close()
    with SessionManager(as_user(url, name, "carl-pw")) as carl:
        carl.create_session(name, "other-class", "p")
    yield url, name
    drop_database(postgres_cluster, url)


def test_two_classes_on_one_server_share_nothing(classroom, second_class) -> None:
    names, urls = classroom
    other_url, carl = second_class
    assert group_names(urls["admin"].rsplit("/", 1)[1]) != group_names(other_url.rsplit("/", 1)[1])
    for who, password in ((names["tess"], "tess-pw"), (names["bob"], "bob-pw")):
        with pytest.raises(StoreError, match="not a member of this class"):
            SessionManager(as_user(other_url, who, password))
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(as_user(other_url, who, password))
    with pytest.raises(StoreError, match="not a member of this class"):
        SessionManager(as_user(urls["admin"], carl, "carl-pw"))
    with SessionManager(urls["tess"]) as tess:
        assert carl not in {s.student_id for s in tess.store.list_sessions(None)}
    with psycopg.connect(urls["bob"], autocommit=True) as bob:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("CREATE TABLE public.stash (x text)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("CREATE TEMPORARY TABLE stash (x text)")


# --- 8. passwords never reach the server log ------------------------------------------------


def test_passwords_are_sent_as_scram_verifiers_and_never_logged(pg_url, postgres_log) -> None:
    database = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {database} SET log_statement = 'ddl'")
    before = postgres_log.stat().st_size
    store = PostgresStore(pg_url)
    name = "lea_" + database[-6:]
    store.add_member(name, "PlainS3cret-create", STUDENT_GROUP)
    store.add_member(name, "PlainS3cret-reset", STUDENT_GROUP)
    store.close()
    with SessionManager(as_user(pg_url, name, "PlainS3cret-reset")) as lea:
        assert lea.store.identity.kind == "student"
    deadline = time.monotonic() + 5
    while True:  # the server writes its log asynchronously
        with postgres_log.open("rb") as log:
            log.seek(before)
            written = log.read().decode("utf-8", "replace")
        if written.count("SCRAM-SHA-256$") >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert written.count("SCRAM-SHA-256$") >= 2  # both statements were logged, as verifiers
    assert "PlainS3cret" not in written


# --- 10. ids longer than the limit ----------------------------------------------------------


def test_a_student_cannot_store_ids_longer_than_the_limit(classroom) -> None:
    names, urls = classroom
    with psycopg.connect(urls["bob"], autocommit=True) as bob, pytest.raises(psycopg.errors.CheckViolation):
        bob.execute(
            "INSERT INTO sessions (student_id, session_id, system_prompt, created_at, updated_at)"
            " VALUES (%s, %s, 'p', 0, 0)",
            (names["bob"], "x" * 201),
        )
    with SessionManager(urls["bob"]) as bob:
        for attempt in (
            lambda: bob.store.get_session(names["bob"], "x" * 6000),
            lambda: bob.store.delete_session(names["bob"], "x" * 6000),
            lambda: bob.add_message(names["bob"], "x" * 6000, "user", "hi"),
            lambda: bob.create_session(names["bob"], "x" * 6000, "p"),
        ):
            with pytest.raises(TutorError, match="6,000 characters long; at most 200"):
                attempt()


# --- upgrading a class database of schema 3 -------------------------------------------------


def test_a_schema_3_class_is_upgraded_members_kept_forged_messages_set_aside(postgres_cluster) -> None:
    url = create_database(postgres_cluster)
    suffix = url.rsplit("_", 1)[1]
    try:
        conn = psycopg.connect(url, autocommit=True)
        conn.execute(  # the migrations of schema 3, as they shipped
            "CREATE TABLE schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at double precision NOT NULL)"
        )
        for version, step in enumerate(MIGRATIONS[:3], start=1):
            with conn.transaction():
                step.postgres(conn)
                conn.execute("INSERT INTO schema_migrations VALUES (%s, %s, 0)", (version, step.name))
        ada, bob, tess = f"ada_{suffix}", f"bob_{suffix}", f"tess_{suffix}"
        database = url.rsplit("/", 1)[1]
        for name, group in ((ada, STUDENT_GROUP), (bob, STUDENT_GROUP), (tess, TEACHER_GROUP)):
            conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'pw'")  # as add-student did then
            conn.execute(f"GRANT {group} TO {name}")
            conn.execute(f"GRANT CONNECT ON DATABASE {database} TO {name}")
        conn.close()
        urls = {"ada": as_user(url, ada, "pw"), "bob": as_user(url, bob, "pw"), "tess": as_user(url, tess, "pw")}
        for who, name in (("ada", ada), ("bob", bob)):
            with psycopg.connect(urls[who], autocommit=True) as student:
                pk = student.execute(
                    "INSERT INTO sessions (student_id, session_id, system_prompt, created_at, updated_at)"
                    " VALUES (%s, 'homework', 'p', 0, 0) RETURNING id",
                    (name,),
                ).fetchone()[0]
                student.execute(
                    "INSERT INTO messages (session_pk, student_id, role, content, created_at)"
                    " VALUES (%s, %s, 'user', %s, 0)",
                    (pk, name, f"question of {who}"),
                )
        with psycopg.connect(urls["bob"], autocommit=True) as student:  # schema 3 let bob do this
            ada_pk = psycopg.connect(url).execute("SELECT id FROM sessions WHERE student_id = %s", (ada,)).fetchone()[0]
            student.execute(
                "INSERT INTO messages (session_pk, student_id, role, content, created_at)"
                " VALUES (%s, %s, 'user', 'bob in ada''s session', 0)",
                (ada_pk, bob),
            )
        PostgresStore(url, migrate=True).close()
        with SessionManager(urls["ada"]) as manager:
            assert manager.store.identity.kind == "student"
            assert [m["content"] for m in manager.get_session(ada, "homework")["messages"]] == ["question of ada"]
        with SessionManager(urls["tess"]) as manager:
            assert manager.store.identity.kind == "teacher"
            assert [m["content"] for m in manager.get_session(ada, "homework")["messages"]] == ["question of ada"]
            with manager.store._reading() as conn:
                assert conn.execute("SELECT content FROM quarantined_messages").fetchall() == [
                    ("bob in ada's session",)
                ]
        with psycopg.connect(urls["bob"], autocommit=True) as student:
            student.execute(f"SET ROLE {STUDENT_GROUP}")  # the old server-wide group grants nothing here
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                student.execute("SELECT * FROM sessions")
    finally:
        drop_database(postgres_cluster, url)
        with psycopg.connect(postgres_cluster, autocommit=True) as conn:
            for name in (f"ada_{suffix}", f"bob_{suffix}", f"tess_{suffix}"):
                conn.execute(f"DROP ROLE IF EXISTS {name}")


def test_a_class_upgraded_in_place_loses_the_states_and_reviews_hung_on_anothers_card(postgres_cluster) -> None:
    url = create_database(postgres_cluster)
    suffix = url.rsplit("_", 1)[1]
    names = {"ada": f"ada_{suffix}", "bob": f"bob_{suffix}"}
    try:
        with psycopg.connect(url, autocommit=True) as conn:  # the class as schema 8 left it
            conn.execute(
                "CREATE TABLE schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL, applied_at double precision NOT NULL)"
            )
            for version, step in enumerate(MIGRATIONS[:8], start=1):
                with conn.transaction():
                    step.postgres(conn)
                    conn.execute("INSERT INTO schema_migrations VALUES (%s, %s, 0)", (version, step.name))
            student_group, _ = group_names(url.rsplit("/", 1)[1])
            for name in names.values():
                conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'pw' IN ROLE {student_group}")
            cards = {}
            for who, owner in (("ada", names["ada"]), ("class", "")):
                deck = conn.execute(
                    "INSERT INTO decks (student_id, name, created_at) VALUES (%s, 'd', 0) RETURNING id", (owner,)
                ).fetchone()[0]
                cards[who] = conn.execute(
                    "INSERT INTO cards (deck_id, student_id, question, answer, content_hash, created_at)"
                    " VALUES (%s, %s, 'q', 'a', 'h', 0) RETURNING id, deck_id",
                    (deck, owner),
                ).fetchone()
        urls = {who: as_user(url, name, "pw") for who, name in names.items()}
        bob = names["bob"]
        with psycopg.connect(urls["bob"], autocommit=True) as conn:  # schema 8 let bob do this
            for statement in (STATE_SQL, REVIEW_SQL):
                conn.execute(statement, (bob, *cards["ada"]))
                conn.execute(statement, (bob, *cards["class"]))
        with psycopg.connect(urls["ada"], autocommit=True) as conn:
            for statement in (STATE_SQL, REVIEW_SQL):
                conn.execute(statement, (names["ada"], *cards["ada"]))
        PostgresStore(url, migrate=True).close()
        with psycopg.connect(url) as admin:
            kept = admin.execute(
                "SELECT student_id, card_id FROM card_states UNION ALL SELECT student_id, card_id FROM reviews"
            ).fetchall()
        assert sorted(kept) == sorted([(bob, cards["class"][0]), (names["ada"], cards["ada"][0])] * 2)
        with psycopg.connect(urls["bob"], autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(REVIEW_SQL, (bob, *cards["ada"]))
    finally:
        drop_database(postgres_cluster, url)


# --- the CLI: administrators' commands, URLs, ids -------------------------------------------


@pytest.mark.parametrize(
    ("command", "name", "says"),
    [
        ("add-student", "tutor_admin", "administrator's own account"),
        ("add-student", "{student_group}", "class group"),
        ("add-student", "{teacher_group}", "class group"),
        ("add-teacher", "tutor_student", "class group"),
        ("add-student", "pg_x", "reserves"),
        ("add-student", "public", "reserves"),
        ("add-student", "none", "reserves"),
        ("add-student", "current_user", "reserves"),
        ("add-student", "session_user", "reserves"),
        ("add-student", "outsider_{suffix}", "not a member of this class"),
    ],
)
def test_admin_refuses_reserved_group_administrator_and_foreign_names(run_tutor, pg_url, command, name, says) -> None:
    database = pg_url.rsplit("/", 1)[1]
    student_group, teacher_group = group_names(database)
    suffix = database[-6:]
    name = name.format(student_group=student_group, teacher_group=teacher_group, suffix=suffix)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE outsider_{suffix} LOGIN PASSWORD 'theirs'")
    try:
        result = run_tutor("admin", command, name, "--password", "hijack", env={"TUTOR_DATABASE_URL": pg_url})
        assert result.returncode == 1 and says in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1 and "unexpected" not in result.stderr
        assert_no_traceback(result)
        with psycopg.connect(pg_url, autocommit=True) as conn:  # the administrator's password still works
            members = conn.execute(
                "SELECT count(*) FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.member"
                " WHERE r.rolname = %s AND am.roleid IN (SELECT oid FROM pg_roles WHERE rolname IN (%s, %s))",
                (name, student_group, teacher_group),
            ).fetchone()[0]
            assert members == 0
            login = conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            if name not in ("tutor_admin", f"outsider_{suffix}"):
                assert login in (None, (False,))  # no group (nor reserved name) was given a login
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DROP ROLE outsider_{suffix}")


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("postgresql://ada:SECRET%zz@127.0.0.1:9/db", "SECRET"),
        ("postgresql://ada:SECRET@[::1/db", "SECRET"),
        ("postgresql://ada:SECRET@[::1:9/db", "SECRET"),
        ("postgresql://ada:se/cr@et@127.0.0.1:9/db", "se/cr"),
        ("postgresql://ada:half@shown@127.0.0.1:9/db", "shown"),
        ("postgresql://ada:se%2Fcret@127.0.0.1:9/db", "se/cret"),
        ("postgresql://127.0.0.1:9/db?user=ada&password=SECRET", "SECRET"),
        ("postgresql://ada:SECRET@127.0.0.1:notaport/db", "SECRET"),
    ],
)
def test_a_malformed_url_never_shows_its_password(run_tutor, url, secret) -> None:
    for args, env in ((["sessions"], {"TUTOR_DATABASE_URL": url}), (["--database-url", url, "sessions"], {})):
        result = run_tutor(*args, env=env, timeout=30)
        assert result.returncode == 1, result.stderr
        assert secret not in result.stderr and secret not in result.stdout, result.stderr
        assert result.stderr.startswith("tutor: ") and result.stderr.count("\n") == 1, result.stderr
        assert_no_traceback(result)


@pytest.mark.parametrize(
    ("url", "described", "secrets"),
    [
        ("postgresql://ada:p@ss@w0rd@127.0.0.1:9/db", "postgresql://ada:***@127.0.0.1:9/db", ("p@ss", "w0rd")),
        (
            "postgresql://ada:p@ss@w0rd@127.0.0.1:9/db?sslmode=disable",
            "postgresql://ada:***@127.0.0.1:9/db?sslmode=disable",
            ("p@ss", "w0rd"),
        ),
        ("postgresql://ada:se:cr://et@127.0.0.1:9/db", "postgresql://ada:***@127.0.0.1:9/db", ("se:cr", "//et")),
        ("postgresql://:SECRET@127.0.0.1:9/db", "postgresql://:***@127.0.0.1:9/db", ("SECRET",)),
        ("postgresql://ada@127.0.0.1:9/db", "postgresql://ada@127.0.0.1:9/db", ()),  # nothing to mask
        (
            "postgresql://127.0.0.1:9/db?user=ada&password=SECRET",
            "postgresql://127.0.0.1:9/db?user=ada&password=***",
            ("SECRET",),
        ),
    ],
)
def test_a_password_is_masked_up_to_the_last_at_sign(url, described, secrets) -> None:
    with pytest.raises(StoreError) as caught:
        SessionManager(url)
    message = str(caught.value)
    assert message.startswith(described + ": "), message
    for secret in secrets:
        assert secret not in message, message


def test_ids_longer_than_the_limit_are_one_sentence_on_every_path(run_tutor, classroom, api_env) -> None:
    names, urls = classroom
    long = "x" * 6000
    student = {"TUTOR_DATABASE_URL": urls["bob"]}
    teacher = {"TUTOR_DATABASE_URL": urls["tess"]}
    for args, env in (
        (["new-session", "--session", long], student),
        (["show", long], student),
        (["delete", long, "--yes"], student),
        (["ask", "--session", long, "hello"], student),
        (["sessions", "--student", long], teacher),
        (["show", "homework", "--student", long], teacher),
        (["show", long], {}),  # SQLite too
        (["new-session", "--session", long], {}),
        (["sessions", "--student", long], {}),
    ):
        result = run_tutor(*args, env=env)
        assert result.returncode == 1, (args, result.stderr)
        assert "6,000 characters long; at most 200" in result.stderr, (args, result.stderr)
        assert result.stderr.count("\n") == 1
        assert_no_traceback(result)
