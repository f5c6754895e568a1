"""The speed paths of the course search give the same passages as the plain ones: SQLite's BM25
ranked over fewer passages (store/course.py `_fts_fewer_ranked`) against FTS5 ranking them all."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

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
            fewer = store_course._fts_fewer_ranked(conn, terms, owners, 50, {})
            tried += 1
            if fewer is not None:
                used += 1
                assert fewer == [tuple(row) for row in everything], terms
    assert used >= tried // 3  # the shortcut is taken for most questions with a common word


def test_word_search_gives_the_same_passages_with_and_without_the_shortcut(big_store, monkeypatch) -> None:
    questions = [["file", "w3", "w17"], ["command", "window", "w40"], ["w5", "line"], ["text", "w90", "w2"]]
    fast = [big_store.word_search("ada", terms, 50) for terms in questions]
    monkeypatch.setattr(store_course, "_fts_fewer_ranked", lambda *args: None)
    assert fast == [big_store.word_search("ada", terms, 50) for terms in questions]
    assert all(len(found) == 50 for found in fast)
