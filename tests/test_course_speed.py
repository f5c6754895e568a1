"""The speed paths of the course search give the same passages as the plain ones: SQLite's BM25
ranked over fewer passages (store/course.py `_fts_fewer_ranked`) against FTS5 ranking them all."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tutor_cli import course
from tutor_cli.store import SQLiteStore
from tutor_cli.store import course as store_course

# A vocabulary with words in a quarter to nine tenths of the passages and a long tail of rarer ones.
COMMON = {"file": 0.9, "line": 0.7, "text": 0.5, "command": 0.35, "window": 0.25}
TAIL = [f"w{n}" for n in range(400)]


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory):
    rng = random.Random(24)
    passages = []
    for seq in range(6000):
        words = [word for word, share in COMMON.items() if rng.random() < share]
        words += rng.choices(TAIL, weights=[1 / (rank + 1) for rank in range(len(TAIL))], k=rng.randint(3, 30))
        rng.shuffle(words)
        text = passages[seq - 3000][3] if seq >= 5000 else " ".join(words)  # equal scores: ties
        passages.append((seq, f"notes.txt #{seq}", None, text))
    store = SQLiteStore(Path(tmp_path_factory.mktemp("speed")) / "tutor.db")
    store.add_material("ada", "notes.txt", "text", passages, b"", 0, 0.0)
    store.add_material("bob", "other.txt", "text", passages[:500], b"", 0, 0.0)  # another student's
    yield store
    store.close()


def test_ranking_fewer_passages_finds_exactly_what_ranking_all_finds(big_store) -> None:
    rng = random.Random(7)
    tried = used = 0
    with big_store._reading() as conn:
        for _ in range(150):
            terms = rng.sample(list(COMMON), rng.randint(1, 2)) + rng.sample(TAIL[:150], rng.randint(1, 3))
            rng.shuffle(terms)
            owners = ("ada", "")
            everything = conn.execute(
                store_course._FTS_RANKED, (store_course._fts_query(terms), *owners, 50)
            ).fetchall()
            # Counts as word_search leaves them (stopped at 326, 5% of the passages, plus one) or none yet.
            capped = {term: store_course._fts_hits(conn, term, 326) for term in terms}
            fewer = store_course._fts_fewer_ranked(conn, terms, owners, 50, *(({}, None), (capped, 326))[tried % 2])
            tried += 1
            if fewer is not None:
                used += 1
                assert fewer == [tuple(row) for row in everything], terms
    assert used >= 0.45 * tried  # the shortcut is taken for most questions with a common word (74 of 150)


def test_word_search_gives_the_same_passages_with_and_without_the_shortcut(big_store, monkeypatch) -> None:
    questions = [["file", "w3", "w17"], ["command", "window", "w40"], ["w5", "line"], ["text", "w90", "w2"]]
    fast = [big_store.word_search("ada", terms, 50) for terms in questions]
    monkeypatch.setattr(store_course, "_fts_fewer_ranked", lambda *args: None)
    assert fast == [big_store.word_search("ada", terms, 50) for terms in questions]
    assert all(len(found) == 50 for found in fast)


WORDS = [  # 100 passages: "cell" in 60, "energy" in 30, "ribosome" in 5, "mitosis" in 2
    " ".join(
        word
        for word, holds in (
            ("cell", n % 5 < 3),
            ("energy", n % 10 < 3),
            ("ribosome", n % 20 == 0),
            ("mitosis", n % 50 == 0),
        )
        if holds
    )
    + f" filler{n}"
    for n in range(100)
]


@pytest.fixture(params=["sqlite", "postgresql"])
def word_store(request, tmp_path: Path):
    if request.param == "sqlite":
        store = SQLiteStore(tmp_path / "tutor.db")
    else:
        from tutor_cli.store.postgres import PostgresStore

        store = PostgresStore(request.getfixturevalue("pg_url"))
    store.add_material(
        "ada", "words.txt", "text", [(n, f"l. {n}", None, text) for n, text in enumerate(WORDS)], b"", 0, 0
    )
    yield store
    store.close()


def test_common_words_are_counted_once_and_left_out_on_both_backends(word_store) -> None:
    counts: dict[str, int] = {}
    found = word_store.word_search("ada", ["cell", "ribosome", "mitosis"], 50, common=20, counts=counts)
    assert found == word_store.word_search("ada", ["ribosome", "mitosis"], 50)  # "cell" is in 60 of 100
    assert counts == {"cell": 21, "ribosome": 5, "mitosis": 2}  # counting stops past the threshold
    # Every word common: one alone is searched, the rarest as far as the capped counts tell, which
    # (counting stops past the threshold) is the first asked.
    counts = {}  # (a searcher starts again when its materials change, and with them `common`)
    only_common = word_store.word_search("ada", ["cell", "energy", "text"], 50, common=2, counts=counts)
    assert only_common == word_store.word_search("ada", ["cell"], 50) and len(only_common) == 50
    assert counts["text"] == 0 and counts["energy"] == 3
    two = word_store.word_search("ada", ["energy", "cell"], 50, common=2, counts=counts)
    assert two == word_store.word_search("ada", ["energy"], 50) and len(two) == 30


def test_among_more_than_10000_passages_a_word_in_over_5_percent_of_them_is_not_searched_for(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "tutor.db")

    def text(n: int) -> str:  # "cell" in a fifth of the passages; "ribosome" in 40, half of them with "cell"
        words = ["ribosome"] * (n % 250 == 0) + ["cell"] * (n % 5 == 0 and n % 500 != 0) + ["filler"] * 5
        return " ".join(words + [f"w{n}"])

    count = course.COMMON_FROM + 1
    passages = [(n, f"big.txt l. {n + 1}", None, text(n)) for n in range(count)]
    store.add_material("ada", "big.txt", "text", passages, b"\1" * count, 1, 0)
    searcher = course.Searcher(store, "ada", course.Tuning(meaning_weight=0))
    found = searcher.search("cell ribosome")
    assert found and found == searcher.search("ribosome")  # the rare word alone decides
    store.close()
