"""`retrieve_documents`: BM25 search over a local document store (SQLite FTS5).

Why SQLite: it is in the standard library, one file holds the index, and FTS5's `bm25()` is a
real ranking function, so the tutorial's document search works offline with no server.

Text is indexed with FTS5's `unicode61` tokenizer plus Porter stemming ("caching" finds
"cache"). Korean words carry particles ("윤리는", "윤리를"), so a Hangul query word drops a
trailing particle and matches as a prefix: "윤리" finds "윤리는" and "윤리적". Chinese and
Japanese text without spaces is indexed as long runs and matches only whole runs.

Any user text is a safe query: it is cut into words and each word is quoted, so FTS5 syntax
in the input (`"`, `OR`, `-`, `*`, `NEAR`, parentheses) is searched as plain words. Words are
OR-ed and BM25 ranks passages that match more (and rarer) words first.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from radixagent.errors import ConfigurationError, InputError, RadixAgentError, SchemaVersionError, StoreError

logger = logging.getLogger(__name__)

SAMPLE_CORPUS_DIR = Path(__file__).parent / "corpus"
"""The small sample corpus shipped with radixagent (LLM serving, SGLang, agents, AI ethics)."""

SAMPLE_SOURCE_PREFIX = "sample:"
TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
FILTER_KEYS = ("source", "title")
MAX_TOP_K = 100
_SCHEMA_VERSION = 1
_MAX_QUERY_TERMS = 32

# Common English words that match nearly every passage and only blur the ranking.
_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it me of on or please "
    "show tell that the this to what when where which who why with about you your".split()
)
# Korean particles (josa), longest first: dropped from the end of a Hangul query word.
_KO_PARTICLES = (
    "에서는", "으로는", "에게서", "에서", "에게", "으로", "까지", "부터", "이란", "이나", "에는",
    "은", "는", "이", "가", "을", "를", "의", "에", "와", "과", "로", "도", "만", "란",
)  # fmt: skip
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_WORD = re.compile(r"[^\W_]+")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")


class SearchResult(BaseModel):
    """One passage that matched a query. `score` is BM25 relevance: higher is better (FTS5's
    `bm25()` is negated so that it reads the natural way)."""

    title: str
    source: str
    snippet: str
    score: float
    passage: int = Field(description="position of the passage within its source, from 0")


class IndexReport(BaseModel):
    """What `add_path` did: counts of files by outcome, and passages written."""

    files_added: int = 0
    files_updated: int = 0
    files_unchanged: int = 0
    files_skipped: int = 0
    passages: int = 0
    skipped: list[str] = Field(default_factory=list, description="files not indexed, with the reason")

    @property
    def files_indexed(self) -> int:
        return self.files_added + self.files_updated

    def __add__(self, other: IndexReport) -> IndexReport:
        return IndexReport(
            files_added=self.files_added + other.files_added,
            files_updated=self.files_updated + other.files_updated,
            files_unchanged=self.files_unchanged + other.files_unchanged,
            files_skipped=self.files_skipped + other.files_skipped,
            passages=self.passages + other.passages,
            skipped=self.skipped + other.skipped,
        )


class SourceInfo(BaseModel):
    """One indexed document (a file or a text added by hand)."""

    source: str
    title: str
    passages: int
    added_at: datetime


class Passage(BaseModel):
    """A piece of a document small enough to be a useful search hit."""

    title: str
    text: str


class DocumentStore:
    """Documents cut into passages and indexed for BM25 search, in one SQLite file.

    Safe to share between threads (one connection behind a lock). Adding a source that is
    already indexed replaces its passages, so re-running `add_path` on a folder only
    re-indexes the files that changed."""

    def __init__(self, path: str | Path = ":memory:", *, passage_chars: int = 1200) -> None:
        if passage_chars < 200:
            raise ConfigurationError(f"passage_chars={passage_chars} is too small: use 200 or more.")
        self.path = Path(path) if str(path) != ":memory:" else None
        self.passage_chars = passage_chars
        self._lock = threading.Lock()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the document store {path}: {exc}. Pass a writable file path.") from exc
        try:
            self._init_schema()
        except (sqlite3.DatabaseError, RadixAgentError) as exc:
            self._db.close()
            if isinstance(exc, RadixAgentError):
                raise
            raise StoreError(
                f"Cannot open the document store {path}: {exc}. Move the file away (a new one will be "
                "created) or pass another path."
            ) from exc

    # --- setup -------------------------------------------------------------------------

    def _init_schema(self) -> None:
        if not fts5_available():
            raise ConfigurationError(
                "This Python's SQLite has no FTS5 full-text search, which the document store needs: "
                "use a Python build whose sqlite3 includes FTS5 (the python.org and most Linux builds do)."
            )
        db = self._db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > _SCHEMA_VERSION:
            raise SchemaVersionError(str(self.path or ":memory:"), version, _SCHEMA_VERSION)
        if self.path is not None:
            db.execute("PRAGMA journal_mode=WAL")
        with db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS sources ("
                " source TEXT PRIMARY KEY, title TEXT NOT NULL, sha256 TEXT NOT NULL,"
                " passages INTEGER NOT NULL, added_at TEXT NOT NULL)"
            )
            db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS passages USING fts5("
                " title, body, source UNINDEXED, position UNINDEXED,"
                " tokenize = 'porter unicode61 remove_diacritics 2')"
            )
            db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> DocumentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- adding ------------------------------------------------------------------------

    def add_text(self, title: str, text: str, source: str | None = None) -> int:
        """Index `text` under `title`; returns the number of passages written. `source` names
        the document (default: the title); adding the same source again replaces it."""
        if not title.strip():
            raise InputError("A document needs a title: pass a non-empty title.")
        if not text.strip():
            raise InputError(f"The document {title!r} has no text to index.")
        source = source or title
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return self._write(source, title.strip(), text, digest)

    def add_path(self, path: str | Path) -> IndexReport:
        """Index a .md/.markdown/.txt file, or every such file under a directory (recursively,
        skipping hidden files and folders, and symbolic links that lead out of the folder; a
        link loop is walked once). Unchanged files are not re-indexed. This is what
        `radixagent docs add PATH` runs."""
        root = Path(path).expanduser()
        if not root.exists():
            raise InputError(f"No file or folder at {root}: give the path of a .md or .txt file, or a folder of them.")
        if root.is_file():
            if root.suffix.lower() not in TEXT_SUFFIXES:
                raise InputError(
                    f"{root} is not a text document: the store indexes {', '.join(sorted(TEXT_SUFFIXES))} files."
                )
            return self._add_file(root)
        walked = IndexReport()  # what the walk itself skipped
        report = IndexReport()
        for file in _walk(root, walked):
            if file.suffix.lower() in TEXT_SUFFIXES:
                report = report + self._add_file(file)
            else:
                report.files_skipped += 1
                report.skipped.append(f"{file}: not a .md or .txt file")
        return report + walked

    def load_sample_corpus(self) -> IndexReport:
        """Index the sample corpus shipped with radixagent, as sources named `sample:<file>`."""
        report = IndexReport()
        for file in sorted(SAMPLE_CORPUS_DIR.iterdir()):
            if file.suffix.lower() in TEXT_SUFFIXES:
                report = report + self._add_file(file, source=SAMPLE_SOURCE_PREFIX + file.name)
        return report

    def _add_file(self, file: Path, source: str | None = None) -> IndexReport:
        source = source or str(file.resolve())
        raw = file.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            logger.warning("skipping %s: not UTF-8 text", file)
            return IndexReport(files_skipped=1, skipped=[f"{file}: not UTF-8 text"])
        if not text.strip():
            return IndexReport(files_skipped=1, skipped=[f"{file}: empty"])
        digest = hashlib.sha256(raw).hexdigest()
        with self._lock:
            row = self._db.execute("SELECT sha256 FROM sources WHERE source = ?", (source,)).fetchone()
        if row is not None and row[0] == digest:
            return IndexReport(files_unchanged=1)
        title = _document_title(text, file)
        passages = self._write(source, title, text, digest)
        if row is None:
            return IndexReport(files_added=1, passages=passages)
        return IndexReport(files_updated=1, passages=passages)

    def _write(self, source: str, title: str, text: str, digest: str) -> int:
        passages = split_passages(title, text, self.passage_chars)
        with self._lock, self._db:
            self._db.execute("DELETE FROM passages WHERE source = ?", (source,))
            self._db.executemany(
                "INSERT INTO passages (title, body, source, position) VALUES (?, ?, ?, ?)",
                [(p.title, p.text, source, i) for i, p in enumerate(passages)],
            )
            self._db.execute(
                "INSERT OR REPLACE INTO sources (source, title, sha256, passages, added_at) VALUES (?, ?, ?, ?, ?)",
                (source, title, digest, len(passages), datetime.now(UTC).isoformat()),
            )
        logger.debug("indexed %s: %d passages", source, len(passages))
        return len(passages)

    def remove(self, source: str) -> bool:
        """Drop one source and its passages; False if it was not indexed."""
        with self._lock, self._db:
            self._db.execute("DELETE FROM passages WHERE source = ?", (source,))
            return self._db.execute("DELETE FROM sources WHERE source = ?", (source,)).rowcount > 0

    # --- reading -----------------------------------------------------------------------

    def __len__(self) -> int:
        """The number of passages indexed."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM passages").fetchone()[0])

    def sources(self) -> list[SourceInfo]:
        with self._lock:
            rows = self._db.execute("SELECT source, title, passages, added_at FROM sources ORDER BY source").fetchall()
        return [SourceInfo(source=s, title=t, passages=n, added_at=datetime.fromisoformat(a)) for s, t, n, a in rows]

    def search(self, query: str, top_k: int = 5, filter: str | None = None) -> list[SearchResult]:
        """The `top_k` passages that best match `query` (BM25), best first.

        `filter` keeps only some documents. It is one or more comma-separated clauses, all of
        which must hold, each case-insensitive:
        `source:TEXT` (the source path or name contains TEXT), `title:TEXT` (the title contains
        TEXT), or a bare `TEXT` (the source or the title contains it). Example:
        `"source:sample:, title:ethics"`."""
        if not 1 <= top_k <= MAX_TOP_K:
            raise InputError(f"top_k must be between 1 and {MAX_TOP_K}, not {top_k}.")
        match = fts_query(query)
        if match is None:
            raise InputError(f"The query {query!r} has no words to search for: give some words.")
        where, params = _filter_sql(filter)
        sql = (
            "SELECT title, source, position,"
            " snippet(passages, 1, '', '', '…', 24), bm25(passages, 2.0, 1.0)"
            f" FROM passages WHERE passages MATCH ?{where}"
            " ORDER BY bm25(passages, 2.0, 1.0) LIMIT ?"
        )
        with self._lock:
            rows = self._db.execute(sql, (match, *params, top_k)).fetchall()
        return [
            SearchResult(title=t, source=s, passage=int(p), snippet=_clean_snippet(snip), score=round(-rank, 4))
            for t, s, p, snip, rank in rows
        ]


# --- the tool ----------------------------------------------------------------------------


class DocumentRetriever:
    """The `retrieve_documents` tool over a `DocumentStore`: a readable list of hits for the model."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    def __call__(self, query: str, top_k: int = 5, filter_criteria: str | None = None) -> str:
        """Search the document store; returns the best passages with title, source and snippet."""
        results = self.store.search(query, top_k=top_k, filter=filter_criteria or None)
        where = f" (filter: {filter_criteria})" if filter_criteria else ""
        if not results:
            return f"No documents match {query!r}{where}."
        lines = [f"{len(results)} passage{'s' if len(results) != 1 else ''} for {query!r}{where}:"]
        for i, r in enumerate(results, 1):
            lines.append(f"{i}. {r.title} [{r.source}] (score {r.score:.2f})")
            lines.append(f"   {r.snippet}")
        return "\n".join(lines)


def default_document_store(path: str | Path | None = None) -> DocumentStore:
    """The store at `path` (default: `<data_dir>/documents.db`), with the sample corpus loaded
    if it is empty, so `retrieve_documents` has something to find on first use."""
    if path is None:
        from radixagent.settings import get_settings

        path = get_settings().data_dir / "documents.db"
    store = DocumentStore(path)
    if len(store) == 0:
        report = store.load_sample_corpus()
        logger.info("loaded the sample corpus into %s: %d passages", path, report.passages)
    return store


# --- helpers -----------------------------------------------------------------------------


def fts5_available() -> bool:
    """Whether this Python's SQLite has FTS5."""
    try:
        sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE t USING fts5(x)")
    except sqlite3.OperationalError:
        return False
    return True


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression for free text: each word quoted (so no input is FTS5 syntax),
    Hangul words stripped of a particle and matched as prefixes, words OR-ed. None if the
    text has no words."""
    words = [w.lower() for w in _WORD.findall(text)]
    content = [w for w in words if w not in _STOPWORDS] or words
    terms: list[str] = []
    for word in content:
        if _HANGUL.search(word):
            term = f'"{_strip_particle(word)}"*'
        else:
            term = f'"{word}"'
        if term not in terms:
            terms.append(term)
    return " OR ".join(terms[:_MAX_QUERY_TERMS]) or None


def _strip_particle(word: str) -> str:
    for particle in _KO_PARTICLES:
        if word.endswith(particle) and len(word) - len(particle) >= 2:
            return word[: -len(particle)]
    return word


def _filter_sql(filter_criteria: str | None) -> tuple[str, list[str]]:
    if filter_criteria is None or not filter_criteria.strip():
        return "", []
    clauses: list[str] = []
    params: list[str] = []
    for clause in (c.strip() for c in filter_criteria.split(",")):
        if not clause:
            continue
        key, sep, value = clause.partition(":")
        key = key.strip().lower()
        if sep and key in FILTER_KEYS:
            value = value.strip().lower()
            if not value:
                raise InputError(f"The filter clause {clause!r} has no value: write {key}:TEXT.")
            clauses.append(f"instr(lower({key}), ?) > 0")
            params.append(value)
        elif sep and re.fullmatch(r"[a-z_]+", key) and " " not in clause:
            raise InputError(
                f"Unknown filter key {key!r} in {filter_criteria!r}: use source:TEXT, title:TEXT, "
                "or plain TEXT to match either."
            )
        else:
            clauses.append("(instr(lower(source), ?) > 0 OR instr(lower(title), ?) > 0)")
            params.extend([clause.lower(), clause.lower()])
    return "".join(f" AND {c}" for c in clauses), params


def _clean_snippet(snippet: str) -> str:
    return " ".join(snippet.split())


def _walk(root: Path, report: IndexReport) -> Iterator[Path]:
    """The files under `root`, sorted, skipping hidden names. Symbolic links are followed
    only while they stay inside `root` (a link that leads out is reported and skipped), and
    each real folder is visited once, so a link loop ends."""
    top = root.resolve()
    seen: set[Path] = set()

    def inside(path: Path) -> bool:
        return path == top or path.is_relative_to(top)

    def visit(folder: Path) -> Iterator[Path]:
        real = folder.resolve()
        if real in seen:
            return
        seen.add(real)
        try:
            entries = sorted(folder.iterdir())
        except OSError as exc:
            report.files_skipped += 1
            report.skipped.append(f"{folder}: cannot be read ({exc.strerror or exc})")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                try:
                    target = entry.resolve(strict=True)
                except (OSError, RuntimeError):  # dangling, or a loop of links
                    report.files_skipped += 1
                    report.skipped.append(f"{entry}: a broken or looping symbolic link")
                    continue
                if not inside(target):
                    report.files_skipped += 1
                    report.skipped.append(f"{entry}: a symbolic link to {target}, outside the folder")
                    continue
            if entry.is_dir():
                yield from visit(entry)
            elif entry.is_file():
                yield entry

    yield from visit(root)


def _document_title(text: str, file: Path) -> str:
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading and len(heading.group(1)) == 1 and heading.group(2):
            return heading.group(2)
        if line.strip():
            break
    return file.stem.replace("-", " ").replace("_", " ").strip() or file.name


def split_passages(title: str, text: str, max_chars: int = 1200) -> list[Passage]:
    """Cut a document into passages of at most about `max_chars`, at section and paragraph
    boundaries (sentences, then words, for a paragraph that is itself too long). A passage
    after the first is titled `<document title> — <its section>`."""
    blocks: list[tuple[str, str]] = []  # (section, paragraph)
    section = ""
    for paragraph in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        lines = paragraph.split("\n")
        heading = _HEADING.match(lines[0])
        if heading:
            if len(heading.group(1)) == 1 and heading.group(2) == title and not blocks:
                lines = lines[1:]  # the document title is the `title` column, not body text
            else:
                section = heading.group(2)
            paragraph = "\n".join(lines).strip()
            if not paragraph:
                continue
        for piece in _split_long(paragraph, max_chars):
            blocks.append((section, piece))

    passages: list[Passage] = []
    current: list[str] = []
    current_section = ""
    size = 0
    for block_section, block in blocks:
        starts_section = block_section != current_section and block.lstrip().startswith("#")
        if current and (size + len(block) > max_chars or (starts_section and size >= max_chars // 2)):
            passages.append(_passage(title, current_section, current, first=not passages))
            current, size = [], 0
        if not current:
            current_section = block_section
        current.append(block)
        size += len(block) + 2
    if current:
        passages.append(_passage(title, current_section, current, first=not passages))
    return passages


def _passage(title: str, section: str, blocks: list[str], *, first: bool) -> Passage:
    full_title = title if first or not section else f"{title} — {section}"
    return Passage(title=full_title, text="\n\n".join(blocks))


def _split_long(paragraph: str, max_chars: int) -> list[str]:
    if len(paragraph) <= max_chars:
        return [paragraph]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(paragraph):
        while len(sentence) > max_chars:  # one huge sentence: cut at a word boundary
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            head, sentence = sentence[:cut].rstrip(), sentence[cut:].lstrip()
            if current:
                pieces.append(current)
                current = ""
            pieces.append(head)
        if current and len(current) + 1 + len(sentence) > max_chars:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        pieces.append(current)
    return pieces
