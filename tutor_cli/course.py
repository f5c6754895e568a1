"""Course materials: files cut into labelled passages, and the passages that best answer a question.

A question is answered from the class's own notes: each file (tutor_cli.documents reads it) is cut
into passages of about `PASSAGE_CHARS` characters that overlap by `OVERLAP_CHARS`, cutting at
paragraph and line ends, never across a Markdown section or a PDF page, each labelled where a
reader finds it again (`notes.pdf p. 12`, `cells.md § Mitochondria`, `notes.txt l. 120`).
A question finds passages two ways: by words (BM25 in SQLite FTS5, `ts_rank` in PostgreSQL; the
store runs it) and by meaning (tutor_cli.embedding); the two rankings are fused by reciprocal rank
fusion and the best passages are sent, at most `BUDGET_CHARS` characters in all.

Sizes, overlap, fusion and counts were chosen by bench/course.py on the tuning half of its
questions (figures in the module constants' comments); the held-out half is reported beside them.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tutor_cli.documents import Document, Section, read_document
from tutor_cli.errors import TutorError

# Measured on bench/course.py's tuning half (python bench/course.py --tune): sizes 300-1400 with
# the 6,000-character budget filled all answered within one question of each other (16-17 of 24);
# 800 keeps a whole explanation with its example in one passage and sends 7, not 20 fragments.
# The overlap (200) is longer than any sentence the answer hinges on, so none is cut in two.
PASSAGE_CHARS = 800
OVERLAP_CHARS = 200
# At most this many characters of passages go with one question (the contract's ceiling).
BUDGET_CHARS = 6000
MAX_PASSAGES = 8
# Reciprocal rank fusion: score = sum of weight / (RRF_K + rank) over the two rankings. Measured:
# K 20 or 60 alike; the embedding weighted 1.5-2 lost 1-4 questions, 0.7 the same as 1.
RRF_K = 60
WORD_WEIGHT = 1.0
MEANING_WEIGHT = 1.0
# How deep each ranking is read before fusing.
CANDIDATES = 50
# Among more than COMMON_FROM passages, a word in more than COMMON_SHARE of them is not searched
# for: it weighs almost nothing in BM25, and ranking all its matches is most of a search's cost.
COMMON_SHARE = 0.05
COMMON_FROM = 10_000

# Words that say nothing about where an answer is (the English list most search engines use, plus
# the filler of students' questions).
_STOPWORD_TEXT = """
a about above after again against all am an and any are aren't as at be because been before being
below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't
down during each few for from further had hadn't has hasn't have haven't having he her here hers
herself him himself his how i i'm if in into is isn't it it's its itself just let's me more most my
myself no nor not of off on once only or other ought our ours ourselves out over own same she should
so some such than that that's the their theirs them themselves then there these they this those
through to too under until up very was wasn't we were weren't what when where which while who whom
why will with won't would you your yours yourself yourselves get got way want wanted anything
something thing things really also still even like use using used make made
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)


@dataclass(frozen=True)
class Passage:
    """A piece of a material as it is stored and sent: its label, its text, and where it sits."""

    label: str
    text: str
    seq: int = 0  # position within its material
    heading: str | None = None  # the Markdown section or PDF page it came from, for the index

    def index_text(self) -> str:
        """What BM25 and the embedding see: the section heading (context a later passage lacks) and the text."""
        return f"{self.heading}\n{self.text}" if self.heading and not self.text.startswith(self.heading) else self.text


def passages_of(document: Document, *, size: int = PASSAGE_CHARS, overlap: int = OVERLAP_CHARS) -> list[Passage]:
    """Cut a document into labelled passages, in order."""
    out: list[Passage] = []
    for section, first_line in _sections(document):
        for line, text in _chunks(section.text, size, overlap):
            out.append(
                Passage(
                    label=_label(document, section, first_line + line - 1),
                    text=text,
                    seq=len(out),
                    heading=section.heading,
                )
            )
    return out


def passage_vectors(model: Any, passages: Sequence[Passage]) -> Any:
    """One unit vector per passage, of its text with its section heading (`Passage.index_text`).

    Measured and dropped: adding the heading's own vector again (weight 0.3 lost 1 of the 48
    questions in the top 7, weight 1.0 lost 11: passages of one section then look alike).
    """
    return model.embed([passage.index_text() for passage in passages])


# Plain-text headings: a line underlined with = - ~ or *; a numbered line ("2.1 Title", "*10.2* Title",
# "Chapter 3: Title"); a line just below a rule of = or -; an ALL-CAPS line between blank lines.
_RULE = re.compile(r"^\s*([=\-~*#_])\1{2,}\s*$")
_NUMBERED = re.compile(
    r"^\s{0,3}(?:\*\d+(?:\.\d+)*\*|\d+(?:\.\d+)+\.?|chapter\s+\d+[.:]?|part\s+[ivx\d]+[.:]?)\s+\S", re.IGNORECASE
)
_TAGS = re.compile(r"\s\*[^*\s]+\*(?=\s|$)")


def _sections(document: Document) -> list[tuple[Section, int]]:
    """The document's sections with the line number each starts at; a text file is cut at its headings."""
    if document.kind != "text":
        return [(section, 1) for section in document.sections]
    out: list[tuple[Section, int]] = []
    for section in document.sections:
        lines = section.text.split("\n")
        top: str | None = None
        heading: str | None = None
        start = 0
        for index, line in enumerate(lines):
            level = _heading_level(lines, index)
            if level:
                body = "\n".join(lines[start:index])
                if body.strip():
                    out.append((Section(body, heading=heading), start + 1))
                title = _clean_title(line)
                top = title if level == 1 else top
                heading = title if level == 1 or top is None else f"{top} / {title}"
                start = index
        body = "\n".join(lines[start:])
        if body.strip():
            out.append((Section(body, heading=heading), start + 1))
    return out


def _heading_level(lines: list[str], index: int) -> int:
    """1 for a section heading, 2 for a subsection (ALL CAPS) heading, 0 for any other line."""
    raw = lines[index]
    line = raw.strip()
    if not (3 <= len(line) <= 80) or _RULE.match(line) or len(raw) - len(raw.lstrip()) > 3:
        return 0  # an indented line is an example or a quotation, not a heading
    numbered = _NUMBERED.match(raw) is not None
    if line.endswith((",", ";")) or (line.endswith(".") and not numbered):
        return 0  # a sentence; a numbered heading may end in one ("5.2. I get duplicate lines.")
    before = lines[index - 1].strip() if index else ""
    after = lines[index + 1] if index + 1 < len(lines) else ""
    if _RULE.match(after) and len(after.strip()) >= min(len(line), 3):
        return 1
    if before and not _RULE.match(before):
        return 0
    if numbered or (_RULE.match(before) and not _underlines(lines, index - 1)):
        return 1  # a line just below a rule ("====" then "*04.3* Title"), unless the rule underlined the line above
    letters = [char for char in line if char.isalpha()]
    if len(letters) >= 4 and all(char.isupper() for char in letters) and not after.strip():
        return 2
    return 0


def _underlines(lines: list[str], index: int) -> bool:
    """Whether the rule at `index` underlines the line above it (that line is then the heading)."""
    return index > 0 and bool(lines[index - 1].strip()) and not _RULE.match(lines[index - 1])


def _clean_title(line: str) -> str:
    title = _TAGS.sub("", " " + line).replace("*", " ")
    return re.sub(r"\s+", " ", title).strip()


def _label(document: Document, section: Section, line: int) -> str:
    if section.page is not None or section.heading:
        label = document.label(section)
    else:
        label = f"{document.name} l. {line}" if document.kind == "text" else document.name
    return _CONTROL.sub("", label)[:200]  # a label is shown and sent: no control characters, bounded


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _chunks(text: str, size: int, overlap: int) -> list[tuple[int, str]]:
    """(first line number, text) of each chunk: whole lines, ending at a blank line where one is near.

    A chunk grows line by line up to `size` characters; it ends at the last paragraph break in its
    second half when there is one. The next chunk starts far enough back to repeat about `overlap`
    characters, so a sentence cut at one chunk's end is whole in the next. Lines longer than `size`
    are cut at spaces.
    """
    lines = _split_long_lines(text.split("\n"), size)
    chunks: list[tuple[int, str]] = []
    start = 0
    while start < len(lines):
        while start < len(lines) and not lines[start][1].strip():
            start += 1
        if start >= len(lines):
            break
        end, length, last_break = start, 0, -1
        while end < len(lines) and (end == start or length + len(lines[end][1]) + 1 <= size):
            if not lines[end][1].strip() and end > start:
                last_break = end
            length += len(lines[end][1]) + 1
            end += 1
        if end < len(lines) and last_break > start and _span(lines, start, last_break) >= size // 2:
            end = last_break
        body = "\n".join(line for _, line in lines[start:end]).strip("\n")
        if body.strip():
            chunks.append((lines[start][0], body))
        if end >= len(lines):
            break
        back, covered = end, 0
        while back > start + 1 and covered < overlap:
            back -= 1
            covered += len(lines[back][1]) + 1
        start = back if back > start else end
    return chunks


def _span(lines: list[tuple[int, str]], start: int, end: int) -> int:
    return sum(len(line) + 1 for _, line in lines[start:end])


def _split_long_lines(lines: list[str], size: int) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        while len(line) > size:
            cut = line.rfind(" ", 0, size)
            cut = cut if cut > size // 2 else size
            out.append((number, line[:cut]))
            line = line[cut:].lstrip(" ")
        out.append((number, line))
    return out


def query_terms(question: str, limit: int = 24) -> list[str]:
    """The words of a question worth searching for: lower case, no stop words, no repeats, in order."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(question.lower()):
        if word not in _STOPWORDS and (len(word) > 1 or word.isdigit()):
            seen.setdefault(word, None)
    return list(seen)[:limit]


def fuse(rankings: Sequence[tuple[Sequence[object], float]], *, k: int = RRF_K) -> list[object]:
    """Reciprocal rank fusion of several rankings (ids best first, each with a weight): ids best first."""
    scores: dict[object, float] = {}
    for ranking, weight in rankings:
        for rank, key in enumerate(ranking):
            scores[key] = scores.get(key, 0.0) + weight / (k + rank + 1)
    return sorted(scores, key=lambda key: -scores[key])


def within_budget(
    candidates: Iterable[Passage], *, budget: int = BUDGET_CHARS, limit: int = MAX_PASSAGES
) -> list[Passage]:
    """The best passages, in order, while their text fits the budget (a long one is skipped, not cut).

    Measured and dropped: at most 1, 2 or 3 passages of one section (the Vim manual 67%, 73%, 73%
    against 73% without; the sed FAQ 39%, 46%, 50% against 50%).
    """
    chosen: list[Passage] = []
    used = 0
    for passage in candidates:
        if len(chosen) >= limit:
            break
        if used + len(passage.text) > budget:
            continue
        chosen.append(passage)
        used += len(passage.text)
    return chosen


def nearest(question_vector: object, matrix: object, count: int) -> list[int]:
    """Row indices of `matrix` (int8-scaled unit vectors) most similar to `question_vector`, best first."""
    import numpy as np

    from tutor_cli import embedding

    embedding.one_blas_thread()
    scores = np.asarray(matrix) @ np.asarray(question_vector)
    count = min(count, scores.shape[0])
    if count <= 0:
        return []
    top = np.argpartition(-scores, count - 1)[:count]
    return [int(index) for index in top[np.argsort(-scores[top], kind="stable")]]


# --- the store's side: adding files and finding passages -------------------------------------------


class MaterialNotFoundError(TutorError, LookupError):
    """`course remove` named a material that is not there."""


def read_files(paths: Sequence[Any]) -> list[Document]:
    """Read every file first, so one that cannot be used stops the command before anything is added
    (tutor_cli.documents says why, in one sentence naming the file). Two files of one name: refused."""
    documents = [read_document(path) for path in paths]
    names = [document.name for document in documents]
    for name in names:
        if names.count(name) > 1:
            raise TutorError(f"{name} is given twice; materials are known by their file name, so add one of them.")
    return documents


def add_documents(store: Any, owner: str, documents: Sequence[Document], now: float) -> list[Added]:
    """Add each document as a material of `owner` (each in one transaction, replacing one of its name)."""
    return [add_document(store, owner, document, now) for document in documents]


@dataclass(frozen=True)
class Added:
    """What `add_file` did: the material's name, how many passages, and whether it replaced one."""

    name: str
    passages: int
    replaced: bool


def add_document(store: Any, owner: str, document: Document, now: float) -> Added:
    """Cut `document` into passages, embed them, and store them as `owner`'s material (one transaction)."""
    from tutor_cli import embedding

    passages = passages_of(document)
    model = embedding.embedder()
    vectors = passage_vectors(model, passages)
    replaced = store.add_material(
        owner,
        document.name,
        document.kind,
        [(p.seq, p.label, p.heading, p.text) for p in passages],
        embedding.quantize(vectors),
        model.dimensions,
        now,
    )
    return Added(document.name, len(passages), replaced)


def searcher_for(store: Any, student_id: str, *, enabled: bool) -> Searcher | None:
    """The searcher a conversation (chat, ask, work) sends passages with: None when the student
    turned materials off (--no-course, TUTOR_COURSE=off). Nothing is read until a question comes."""
    return Searcher(store, student_id) if enabled else None


@dataclass(frozen=True)
class Tuning:
    """The knobs of a search (the module constants by default; bench/course.py varies them)."""

    word_weight: float = WORD_WEIGHT
    meaning_weight: float = MEANING_WEIGHT
    rrf_k: int = RRF_K
    candidates: int = CANDIDATES
    budget: int = BUDGET_CHARS
    limit: int = MAX_PASSAGES


class Searcher:
    """Finds the passages for a question; keeps the vector matrix between questions of one process.

    The matrix is read again only when the student's set of materials changed (`material_shape`:
    their number, ids, sizes and latest addition; one index lookup before each question).
    """

    def __init__(self, store: Any, student_id: str, tuning: Tuning | None = None) -> None:
        self.store = store
        self.student_id = student_id
        self.tuning = tuning or Tuning()
        self._signature: tuple | None = None
        self._keys: list[tuple[int, int]] = []
        self._matrix: Any = None
        self._lock = threading.Lock()  # the warm-up thread and a question may read the vectors at once
        self._term_counts: dict[str, int] = {}  # how many passages hold a word (see word_search)

    def _vectors(self) -> tuple[list[tuple[int, int]], Any]:
        with self._lock:
            return self._read_vectors()

    def _read_vectors(self) -> tuple[list[tuple[int, int]], Any]:
        from tutor_cli import embedding

        signature = self.store.material_shape(self.student_id)
        if signature != self._signature:
            materials = self.store.material_index(self.student_id)
            blobs = self.store.material_vectors([material_id for material_id, _, _ in materials])
            whole = [
                (material_id, count, dims)
                for material_id, count, dims in materials
                if dims > 0 and len(blobs.get(material_id, b"")) == dims * count  # a damaged one is skipped
            ]
            self._keys = [(material_id, seq) for material_id, count, _ in whole for seq in range(count)]
            if len({dims for _, _, dims in whole}) == 1:  # one model: the bytes joined, converted once
                joined = b"".join(blobs[material_id] for material_id, _, _ in whole)
                self._matrix = embedding.dequantize(joined, whole[0][2])
                embedding.one_blas_thread()  # here, so the warm-up thread pays for it, not the first question
            else:  # no vectors, or vectors of two models (of other sizes, not comparable): words alone
                self._matrix = None
            self._signature = signature
            self._term_counts = {}
        return self._keys, self._matrix

    def warm_up(self) -> None:
        """Load the model and this student's vectors in a background thread (the chat does this as
        it opens), so the first question does not wait for them. Nothing happens without materials."""

        def load() -> None:
            try:
                if self._vectors()[0]:
                    from tutor_cli import embedding

                    embedding.embedder()
            except Exception:  # noqa: BLE001 - the question itself will report a real failure
                pass

        threading.Thread(target=load, daemon=True, name="tutor-course-warm-up").start()

    def search(self, question: str) -> list[Passage]:
        """The passages to send with `question`, best first, within the budget."""
        from tutor_cli import embedding

        question = search_text(question)
        tuning = self.tuning
        keys, matrix = self._vectors()
        if not keys:  # no materials: nothing is searched, nothing is sent
            return []
        words: list[tuple[int, int]] = []
        if tuning.word_weight:
            common = int(COMMON_SHARE * len(keys)) if len(keys) > COMMON_FROM else None
            words = self.store.word_search(
                self.student_id, query_terms(question), tuning.candidates, common=common, counts=self._term_counts
            )
        meaning: list[tuple[int, int]] = []
        if tuning.meaning_weight and matrix is not None:
            question_vector = embedding.embedder().embed([question])[0]
            meaning = [keys[index] for index in nearest(question_vector, matrix, tuning.candidates)]
        ranked = fuse([(words, tuning.word_weight), (meaning, tuning.meaning_weight)], k=tuning.rrf_k)
        ranked = ranked[: tuning.limit * 3]
        found = self.store.passages_by_key(ranked)
        candidates = (
            Passage(label=p.label, text=p.text, seq=p.key[1], heading=p.heading)
            for key in ranked
            if (p := found.get(key)) is not None
        )
        return within_budget(candidates, budget=tuning.budget, limit=tuning.limit)


def search_text(question: str, limit: int = 2000) -> str:
    """What a question is searched by: the student's own words first. A question that carries
    files or code in fences (/attach) ends with what the student asks; that leads, then the rest,
    so a long attached file does not drown the question's words."""
    tail = question.rsplit("```", 1)[-1].strip() if "```" in question else ""
    if not tail or tail == question.strip():
        return question[:limit]
    return (tail + "\n" + question[: len(question) - len(tail)])[:limit]


# --- what is sent, and what the answer cited --------------------------------------------------

PASSAGES_NOTE = (
    "Passages from my course materials that may help. Answer from them where they fit, in their words "
    "and notation, and cite the label of each passage you use in square brackets, e.g. [{example}]."
)
QUESTION_NOTE = "My question:"


def with_passages(question: str, passages: Sequence[tuple[str, str]]) -> str:
    """The user message sent for `question` with its (label, text) passages; the question alone when none."""
    if not passages:
        return question
    blocks = [PASSAGES_NOTE.format(example=passages[0][0])]
    blocks += [f"[{label}]\n{text.strip()}" for label, text in passages]
    blocks.append(f"{QUESTION_NOTE}\n{question}")
    return "\n\n".join(blocks)


def cited(answer: str, labels: Sequence[str]) -> list[str]:
    """The labels among `labels` that `answer` cites in square brackets, in the order they were sent.

    A citation may group labels ("[a.md § X; b.pdf p. 2]") or shorten a label to its file name
    when only one passage of that file was sent.
    """
    inside = re.findall(r"\[([^\[\]\n]{1,300})\]", answer)
    cites = set(inside) | {part.strip() for text in inside for part in re.split(r";\s*", text)}
    files = [_file_of(label) for label in labels]
    sent_from = Counter(files)
    found: list[str] = []
    for label, file in zip(labels, files, strict=True):
        hit = label in cites or (file in cites and sent_from[file] == 1)
        if hit and label not in found:
            found.append(label)
    return found


# What `Document.label` puts after a file's name: a page, a section, a line.
_LOCATOR = re.compile(r" (?:p\. \d+|l\. \d+|§ .*)$")


def _file_of(label: str) -> str:
    """The file name a label starts with ("Chapter 3.pdf" of "Chapter 3.pdf p. 12"; names may hold spaces)."""
    return _LOCATOR.sub("", label)
