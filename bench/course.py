"""Course materials: does the passage that answers a question go with it, and how fast?

The text is the Vim user manual, which nobody on the team wrote: 36 plain-text chapters that
Debian's vim-runtime package installs (`apt-get install vim-runtime`; they land in
/usr/share/vim/vim9*/doc/usr_*.txt). The questions (bench/course_questions.py) are written the
way students ask; each names the answering passage by a phrase it must contain. Half are held
out: the settings in tutor_cli/course.py were chosen on the other half only; both are printed.

Printed:
- the share of questions whose answering passage is among those sent (at most 6,000 characters),
  for plain BM25 over fixed-size passages and for the fused method, each half and overall; and
  the same on a second text, the sed FAQ (bench/sedfaq_questions.py, all held out);
- adding 1,000 PDF pages (read with pypdf, cut, embedded, stored);
- finding the passages for a question among 50,000 (embedding the question included), p50/p95,
  on SQLite and, with --postgres, on a throw-away PostgreSQL cluster (initdb on PATH);
- Enter-to-request with materials against without (the fake server, in process).

Run: python bench/course.py [--postgres] [--tune] [--docs DIR]
"""

from __future__ import annotations

import argparse
import glob
import gzip
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.course_questions import QUESTIONS  # noqa: E402
from tutor_cli import course, embedding  # noqa: E402
from tutor_cli.documents import Document, read_document  # noqa: E402
from tutor_cli.store import SQLiteStore  # noqa: E402

STUDENT = "bench"
BASELINE_SIZE = 1000  # fixed-size passages of the plain-BM25 baseline


def find_manual(folder: str | None) -> list[Path]:
    pattern = f"{folder}/usr_*.txt" if folder else "/usr/share/vim/vim9*/doc/usr_*.txt"
    files = sorted(Path(name) for name in glob.glob(pattern))
    if not files:
        sys.exit("The Vim user manual is not installed: run `apt-get install vim-runtime` (or give --docs DIR).")
    return files


def normal(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def answers(text: str, phrases: str | tuple[str, ...]) -> bool:
    """Whether a passage holds the answer: one of the question's phrases, whitespace normalised."""
    phrases = (phrases,) if isinstance(phrases, str) else phrases
    return any(normal(phrase) in normal(text) for phrase in phrases)


def fixed_passages(document: Document, *, size: int) -> list[course.Passage]:
    """Plain fixed-size passages with no overlap and no regard for lines (the benchmark's baseline)."""
    text = document.text
    return [
        course.Passage(label=f"{document.name} #{n + 1}", text=text[start : start + size], seq=n)
        for n, start in enumerate(range(0, len(text), size))
        if text[start : start + size].strip()
    ]


def load(store, documents: list[Document], cut) -> int:
    """Store each document's passages (cut by `cut`) with their embeddings; the passage count."""
    model = embedding.embedder()
    total = 0
    for document in documents:
        passages = cut(document)
        vectors = course.passage_vectors(model, passages)
        store.add_material(
            STUDENT,
            document.name,
            document.kind,
            [(p.seq, p.label, p.heading, p.text) for p in passages],
            embedding.quantize(vectors),
            model.dimensions,
            time.time(),
        )
        total += len(passages)
    return total


def recall(store, tuning: course.Tuning, questions=QUESTIONS) -> tuple[float, float, float, list[str]]:
    """(tuning half, held-out half, all) shares of questions answered by a sent passage, and the misses."""
    searcher = course.Searcher(store, STUDENT, tuning)
    hits = {False: [], True: []}
    misses = []
    for question, phrase, held_out in questions:
        sent = searcher.search(question)
        ok = any(answers(passage.text, phrase) for passage in sent)
        hits[held_out].append(ok)
        if not ok:
            misses.append(question)
    share = lambda values: sum(values) / len(values) if values else float("nan")  # noqa: E731
    return share(hits[False]), share(hits[True]), share(hits[False] + hits[True]), misses


def fresh_store(folder: Path, name: str) -> SQLiteStore:
    return SQLiteStore(folder / f"{name}.db")


def quality(documents: list[Document], folder: Path, tune: bool) -> None:
    held = sum(held_out for *_, held_out in QUESTIONS)
    print(f"Quality: {len(QUESTIONS)} questions ({held} held out), at most 6,000 characters a question")
    baseline = fresh_store(folder, "baseline")
    count = load(baseline, documents, lambda d: fixed_passages(d, size=BASELINE_SIZE))
    words_only = course.Tuning(meaning_weight=0.0)
    tuning_half, held, overall, _ = recall(baseline, words_only)
    print(
        f"  plain BM25, fixed {BASELINE_SIZE}-char passages ({count}): "
        f"tuning {tuning_half:.0%}  held-out {held:.0%}  all {overall:.0%}"
    )
    fused = fresh_store(folder, "fused")
    count = load(fused, documents, course.passages_of)
    for name, tuning in (("BM25 alone", words_only), ("embedding alone", course.Tuning(word_weight=0.0))):
        tuning_half, held, overall, _ = recall(fused, tuning)
        print(f"  {name}, our passages ({count}): tuning {tuning_half:.0%}  held-out {held:.0%}  all {overall:.0%}")
    tuning_half, held, overall, misses = recall(fused, course.Tuning())
    base_all = recall(baseline, words_only)[2]
    print(
        f"  fused (RRF), our passages ({count}): tuning {tuning_half:.0%}  held-out {held:.0%}  all {overall:.0%}"
        f"  ({overall / base_all:.2f}x plain BM25)"
    )
    for question in misses:
        print(f"    missed: {question}")
    if tune:
        grid(documents, folder)


def grid(documents: list[Document], folder: Path) -> None:
    """Passage size x overlap x fusion weights, scored on the tuning half (held-out shown beside)."""
    print("Tuning grid (tuning half / held-out):")
    for size in (400, 600, 800, 1000, 1400):
        for overlap in (0, 100, 200, 300):
            if overlap >= size // 2:
                continue
            store = fresh_store(folder, f"grid-{size}-{overlap}")
            load(store, documents, lambda d, s=size, o=overlap: course.passages_of(d, size=s, overlap=o))
            cells = []
            for word_weight, meaning_weight, k in ((1, 1, 60), (1, 1.5, 60), (1.5, 1, 60), (1, 1, 20)):
                tuning = course.Tuning(word_weight=word_weight, meaning_weight=meaning_weight, rrf_k=k)
                a, b, _, _ = recall(store, tuning)
                cells.append(f"w{word_weight}/m{meaning_weight}/k{k} {a:.0%}/{b:.0%}")
            print(f"  size {size:4} overlap {overlap:3}: " + "  ".join(cells))
            store.close()


def second_text(folder: Path) -> None:
    """The same methods on a second text, the sed FAQ (Debian's sed package), with questions written
    before any method ran on it and never used to choose a setting (bench/sedfaq_questions.py)."""
    from bench.sedfaq_questions import QUESTIONS as SED_QUESTIONS

    source = Path("/usr/share/doc/sed/sedfaq.txt.gz")
    if not source.exists():
        print("Second text: the sed FAQ is not installed (apt-get install sed); skipped.")
        return
    path = folder / "sedfaq.txt"
    path.write_bytes(gzip.decompress(source.read_bytes()))
    documents = [read_document(path)]
    print(
        f"Second text: the sed FAQ, {len(documents[0].text):,} characters,"
        f" {len(SED_QUESTIONS)} questions (all held out)"
    )
    words_only = course.Tuning(meaning_weight=0.0)
    baseline = fresh_store(folder, "sed-baseline")
    count = load(baseline, documents, lambda d: fixed_passages(d, size=BASELINE_SIZE))
    base_all = recall(baseline, words_only, SED_QUESTIONS)[2]
    print(f"  plain BM25, fixed {BASELINE_SIZE}-char passages ({count}): {base_all:.0%}")
    ours = fresh_store(folder, "sed-fused")
    count = load(ours, documents, course.passages_of)
    for name, tuning in (("BM25 alone", words_only), ("embedding alone", course.Tuning(word_weight=0.0))):
        print(f"  {name}, our passages ({count}): {recall(ours, tuning, SED_QUESTIONS)[2]:.0%}")
    *_, overall, misses = recall(ours, course.Tuning(), SED_QUESTIONS)
    print(f"  fused (RRF), our passages ({count}): {overall:.0%}  ({overall / base_all:.2f}x plain BM25)")
    for question in misses:
        print(f"    missed: {question}")


def pdf_speed(documents: list[Document], folder: Path) -> None:
    from tests.helpers.pdf import make_pdf

    text = "\n".join(document.text for document in documents)
    lines = [line for line in text.split("\n") if line.strip()]
    pages = ["\n".join(lines[(i * 45) % len(lines) : (i * 45) % len(lines) + 45]) for i in range(1000)]
    path = folder / "thousand.pdf"
    path.write_bytes(make_pdf(pages))
    store = fresh_store(folder, "pdf")
    embedding.embedder()
    start, start_cpu = time.perf_counter(), time.process_time()
    document = read_document(path)
    read, read_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    added = course.add_document(store, STUDENT, document, time.time())
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    print(
        f"Adding a 1,000-page PDF ({path.stat().st_size // 1024} KB): {elapsed:.1f} s ({cpu:.1f} s of CPU;"
        f" reading it with pypdf {read:.1f} s, {read_cpu:.1f} s of CPU), {added.passages} passages"
    )
    store.close()


def many_passages(store, documents: list[Document], target: int = 50_000) -> int:
    """Load copies of the manual (each file under a new name) until `target` passages are stored."""
    model = embedding.embedder()
    cut = [(document, course.passages_of(document)) for document in documents]
    vectors = {d.name: embedding.quantize(course.passage_vectors(model, ps)) for d, ps in cut}
    total, copy = 0, 0
    while total < target:
        copy += 1
        for document, passages in cut:
            if total >= target:
                break
            rows = [(p.seq, p.label, p.heading, p.text) for p in passages]
            store.add_material(
                STUDENT, f"{copy}-{document.name}", "text", rows, vectors[document.name], model.dimensions, 0.0
            )
            total += len(passages)
    return total


def search_speed(store, label: str, documents: list[Document]) -> None:
    """p50/p95 of finding the passages for a question, wall clock and this process's CPU time (the
    machine is shared: CPU time shows what the search itself costs when others load the cores)."""
    total = many_passages(store, documents)
    searcher = course.Searcher(store, STUDENT)
    start = time.perf_counter()
    searcher.search(QUESTIONS[0][0])
    first = (time.perf_counter() - start) * 1000
    wall, cpu = [], []
    for _ in range(3):
        for question, _, _ in QUESTIONS:
            start, start_cpu = time.perf_counter(), time.process_time()
            searcher.search(question)
            wall.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
    print(
        f"Finding passages among {total:,} ({label}): wall p50 {percentile(wall, 50):.1f} ms,"
        f" p95 {percentile(wall, 95):.1f} ms; CPU p50 {percentile(cpu, 50):.1f} ms, p95 {percentile(cpu, 95):.1f} ms"
        f" (first question of a process, reading the vectors: {first:.0f} ms)"
    )


def percentile(samples: list[float], share: int) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(len(ordered) * share / 100) - 1))]


def postgres_speed(documents: list[Document]) -> None:
    from tests import pg_server
    from tutor_cli.store.postgres import PostgresStore

    base = Path(tempfile.mkdtemp(prefix="tutor-course-bench-pg-"))  # chowned to postgres by pg_server
    url = pg_server.start(base)
    try:
        store = PostgresStore(url, migrate=True)
        search_speed(store, "PostgreSQL", documents)
        store.close()
    finally:
        pg_server.stop(base)
        shutil.rmtree(base, ignore_errors=True)


def enter_to_request(documents: list[Document], folder: Path) -> None:
    """Enter-to-request in the chat (in process, warm), with the manual as materials and without."""
    from tests.fake_server import API_KEY, FakeServer, Reply
    from tutor_cli.client import ChatClient
    from tutor_cli.sessions import SessionManager
    from tutor_cli.turn import Conversation, ask
    from tutor_cli.views.answer import AnswerView

    class Discard:
        def write(self, text: str) -> int:
            return len(text)

        def flush(self) -> None:
            pass

    server = FakeServer().start()
    results = {}
    try:
        with SessionManager(folder / "latency.db") as manager:
            client = ChatClient(server.base_url, API_KEY)
            client.warm_up()
            load_as(manager.store, documents, "with")
            for label, student in (("without materials", "without"), ("with materials", "with")):
                manager.create_session(student, "s", "You are a tutor.")
                conversation = Conversation(manager, client, student, "s", "deepseek-flash")
                conversation.course = course.Searcher(manager.store, student)
                ask(conversation, "warm-up question about undo", AnswerView(Discard()))
                samples, cpu = [], []
                for question, _, _ in QUESTIONS[:20]:
                    server.reply(Reply(content="ok"))
                    start, start_cpu = time.perf_counter(), time.process_time()
                    ask(conversation, question, AnswerView(Discard()))
                    samples.append((server.chat_requests[-1]["received_at"] - start) * 1000)
                    cpu.append((time.process_time() - start_cpu) * 1000)  # the whole turn, server included
                results[label] = (percentile(samples, 50), percentile(samples, 95), percentile(cpu, 50))
    finally:
        server.stop()
    (base50, base95, base_cpu), (with50, with95, with_cpu) = results["without materials"], results["with materials"]
    print(
        f"Enter to request (chat, warm): without materials p50 {base50:.1f} ms, p95 {base95:.1f} ms;"
        f" with materials p50 {with50:.1f} ms, p95 {with95:.1f} ms; ratio of medians {with50 / base50:.2f}x"
        f" (CPU time of a whole turn, median: {base_cpu:.1f} ms vs {with_cpu:.1f} ms, {with_cpu / base_cpu:.2f}x)"
    )


def enter_to_request_terminal(documents: list[Document], folder: Path, questions: int = 15) -> None:
    """Enter-to-request from the Enter key itself: `tutor chat` in a pseudo-terminal (as in the
    tests), the question typed, then the time from sending Enter to the fake server receiving the
    request that carries it; the same with the manual as materials and without."""
    import pexpect

    from tests.conftest import Terminal
    from tests.fake_server import API_KEY, FakeServer, Reply
    from tutor_cli.sessions import SessionManager

    server = FakeServer().start()
    results = {}
    try:
        for label, materials in (("without materials", False), ("with materials", True)):
            home = folder / f"terminal-{materials}"
            home.mkdir()
            if materials:
                with SessionManager(home / "tutor.db") as manager:
                    load_as(manager.store, documents, "bench")
            env = {
                "TUTOR_HOME": str(home),
                "TUTOR_STUDENT": "bench",
                "TUTOR_PROFILE": "off",
                "DEEPSEEK_API_KEY": API_KEY,
                "DEEPSEEK_BASE_URL": server.base_url,
            }
            term = Terminal("chat", env=env, timeout=30)
            term.expect(Terminal.PROMPT)
            samples = []
            for number, (question, _, _) in enumerate([("a warm-up question about undo", "", False)] + QUESTIONS):
                if number > questions:
                    break
                server.reply(Reply(content=f"Answer {number}."))
                term.child.send(question)
                term.expect(question[-12:])
                time.sleep(0.3)  # the typed line is drawn and the terminal is idle
                start = time.perf_counter()
                term.child.send("\r")
                term.expect(f"Answer {number}.")
                term.expect(Terminal.PROMPT)
                sent = [r for r in server.chat_requests if question in str(r["body"]["messages"][-1]["content"])]
                if number:  # the first question loads the model and the vectors
                    samples.append((sent[-1]["received_at"] - start) * 1000)
            term.child.sendline("/quit")
            term.child.expect(pexpect.EOF)
            results[label] = (percentile(samples, 50), percentile(samples, 95))
    finally:
        server.stop()
    (base50, base95), (with50, with95) = results["without materials"], results["with materials"]
    print(
        f"Enter to request (tutor chat in a terminal, from the Enter key): without materials p50 {base50:.1f} ms,"
        f" p95 {base95:.1f} ms; with materials p50 {with50:.1f} ms, p95 {with95:.1f} ms;"
        f" ratio of medians {with50 / base50:.2f}x"
    )


def load_as(store, documents: list[Document], owner: str) -> None:
    model = embedding.embedder()
    for document in documents:
        passages = course.passages_of(document)
        store.add_material(
            owner,
            document.name,
            document.kind,
            [(p.seq, p.label, p.heading, p.text) for p in passages],
            embedding.quantize(course.passage_vectors(model, passages)),
            model.dimensions,
            0.0,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="Course materials benchmark")
    parser.add_argument("--docs", help="folder holding the Vim manual's usr_*.txt")
    parser.add_argument("--tune", action="store_true", help="also print the tuning grid")
    parser.add_argument("--postgres", action="store_true", help="also time the search on PostgreSQL")
    args = parser.parse_args()
    documents = [read_document(path) for path in find_manual(args.docs)]
    print(f"Text: the Vim user manual, {len(documents)} files, {sum(len(d.text) for d in documents):,} characters")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        quality(documents, folder, args.tune)
        second_text(folder)
        pdf_speed(documents, folder)
        enter_to_request(documents, folder)
        enter_to_request_terminal(documents, folder)
        search_speed(fresh_store(folder, "many"), "SQLite", documents)
    if args.postgres:
        postgres_speed(documents)


if __name__ == "__main__":
    main()
