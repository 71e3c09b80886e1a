"""The five built-in tools: document search (SQLite FTS5), the code runner, and the
model-backed sentiment, summary and translation tools (scripted engine for the logic, the
embedded model for one real check each)."""

from __future__ import annotations

import inspect
import os
import sqlite3
from pathlib import Path

import pytest

from radixagent.engine import ChatMessage, ChoiceScore, Completion, SamplingParams, ScoreResult, ScriptedEngine, Usage
from radixagent.errors import (
    ConfigurationError,
    EngineResponseError,
    InputError,
    SchemaVersionError,
    StoreError,
    ToolArgumentsError,
)
from radixagent.tools.builtin import (
    CODE_SCHEMA,
    RETRIEVAL_SCHEMA,
    SENTIMENT_SCHEMA,
    SUMMARY_SCHEMA,
    TRANSLATION_SCHEMA,
    CodeExecutionDisabledError,
    CodeRunner,
    DocumentRetriever,
    DocumentStore,
    SentimentAnalyzer,
    Summarizer,
    Translator,
    builtin_tools,
    default_document_store,
)
from radixagent.tools.builtin.documents import fts5_available, fts_query, split_passages
from radixagent.tools.builtin.sentiment import sentiment_prompt
from radixagent.tools.builtin.text import clean_model_text, to_bullets, truncate_words

# --- document store ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_store() -> DocumentStore:
    store = DocumentStore()
    store.load_sample_corpus()
    return store


def test_fts5_is_available() -> None:
    assert fts5_available()


def test_sample_corpus_loads_every_file(sample_store: DocumentStore) -> None:
    sources = {s.source for s in sample_store.sources()}
    corpus = Path(__file__).parents[1] / "src/radixagent/tools/builtin/corpus"
    assert sources == {f"sample:{p.name}" for p in corpus.iterdir() if p.suffix == ".md"}
    assert len(sources) >= 12
    assert len(sample_store) >= len(sources)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("radix tree eviction of leaves", "sample:radixattention.md"),
        ("continuous batching prefill decode", "sample:llm-serving.md"),
        ("constrained decoding JSON schema grammar", "sample:structured-output.md"),
        ("GGUF quantization slots", "sample:llama-cpp.md"),
        ("fairness accountability privacy", "sample:ai-ethics.md"),
    ],
)
def test_search_ranks_the_relevant_document_first(sample_store: DocumentStore, query: str, expected: str) -> None:
    results = sample_store.search(query, top_k=5)
    assert results[0].source == expected
    assert results[0].score >= results[-1].score
    assert results[0].snippet


def test_search_results_are_typed_and_bounded(sample_store: DocumentStore) -> None:
    results = sample_store.search("cache", top_k=3)
    assert len(results) == 3
    assert all(r.title and r.source and r.snippet for r in results)
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    with pytest.raises(InputError, match="top_k"):
        sample_store.search("cache", top_k=0)


@pytest.mark.parametrize(
    "query",
    [
        'AI "ethics" OR -x',
        "NEAR(ethics privacy, 2)",
        "ethics AND (privacy",
        "title:ethics",
        "'; DROP TABLE passages; --",
        "^ethics + -privacy",
        "col : value \" ' ` \\",
    ],
)
def test_hostile_queries_are_searched_as_plain_words(sample_store: DocumentStore, query: str) -> None:
    results = sample_store.search(query, top_k=5)
    assert isinstance(results, list)
    assert len(sample_store) > 0  # nothing was dropped


def test_quoted_words_still_find_their_document(sample_store: DocumentStore) -> None:
    assert fts_query('AI "ethics" OR -x') == '"ai" OR "ethics" OR "x"'
    assert sample_store.search('AI "ethics" OR -x', top_k=1)[0].source == "sample:ai-ethics.md"


@pytest.mark.parametrize("query", ['"', "*", '!!! -- "" ()', "  "])
def test_a_query_without_words_is_refused(sample_store: DocumentStore, query: str) -> None:
    with pytest.raises(InputError, match="no words"):
        sample_store.search(query)


@pytest.mark.parametrize("query", ["인공지능 윤리", "윤리에 대한 문서", "인공지능의 윤리적 원칙"])
def test_korean_query_finds_the_korean_documents(sample_store: DocumentStore, query: str) -> None:
    results = sample_store.search(query, top_k=3)
    assert results[0].source in {"sample:ai-ethics-ko.md", "sample:ai-ethics-guidelines-ko.md"}
    assert "윤리" in results[0].title


def test_korean_text_added_by_hand_is_searchable() -> None:
    store = DocumentStore()
    store.add_text("서버 안내", "라딕스 캐시는 프롬프트의 공통 접두사를 재사용한다.", source="notes")
    store.add_text("Other", "Nothing about caches in Korean here.", source="other")
    results = store.search("접두사를")
    assert [r.source for r in results] == ["notes"]


def test_filter_by_source_title_or_plain_text(sample_store: DocumentStore) -> None:
    only_ko = sample_store.search("윤리 원칙", top_k=10, filter="source:-ko.md")
    assert only_ko and all(r.source.endswith("-ko.md") for r in only_ko)
    by_title = sample_store.search("윤리", top_k=10, filter="title:윤리기준")
    assert {r.source for r in by_title} == {"sample:ai-ethics-guidelines-ko.md"}
    plain = sample_store.search("cache prefix", top_k=10, filter="RADIXattention")
    assert plain and {r.source for r in plain} == {"sample:radixattention.md"}
    both = sample_store.search("cache", top_k=10, filter="source:sample:, title:prefix")
    assert {r.source for r in both} == {"sample:prefix-caching.md"}
    assert sample_store.search("cache", filter="source:no-such-file") == []
    with pytest.raises(InputError, match="Unknown filter key 'category'"):
        sample_store.search("cache", filter="category:serving")


def test_retriever_tool_output(sample_store: DocumentStore) -> None:
    retriever = DocumentRetriever(sample_store)
    text = retriever("RadixAttention", top_k=2)
    assert text.startswith("2 passages for 'RadixAttention':")
    assert "[sample:radixattention.md]" in text
    assert retriever("zzzqqq", filter_criteria="title:x") == "No documents match 'zzzqqq' (filter: title:x)."


def test_add_path_counts_files_and_passages(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / ".hidden").mkdir()
    (docs / "a.md").write_text("# Alpha\n\nAlpha talks about zebras.\n", encoding="utf-8")
    (docs / "sub" / "b.txt").write_text("Bravo mentions giraffes.\n", encoding="utf-8")
    (docs / "sub" / "c.pdf").write_bytes(b"%PDF-1.4")
    (docs / ".hidden" / "d.md").write_text("hidden okapis", encoding="utf-8")
    long = "\n\n".join(f"## Part {i}\n\n" + " ".join(["Paragraph about lemurs number", str(i)] * 40) for i in range(6))
    (docs / "long.md").write_text("# Long\n\n" + long, encoding="utf-8")
    (docs / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))

    store = DocumentStore(tmp_path / "docs.db", passage_chars=600)
    report = store.add_path(docs)
    assert (report.files_added, report.files_updated, report.files_unchanged) == (3, 0, 0)
    assert report.files_skipped == 2  # the PDF and the non-UTF-8 file; hidden folders are not visited
    assert report.passages > 3 + 5  # the long file became several passages
    assert report.passages == len(store)
    assert store.search("zebras")[0].title == "Alpha"
    assert store.search("okapis", top_k=5) == []

    again = store.add_path(docs)
    assert (again.files_added, again.files_updated, again.files_unchanged, again.passages) == (0, 0, 3, 0)

    (docs / "a.md").write_text("# Alpha\n\nAlpha now talks about pandas.\n", encoding="utf-8")
    changed = store.add_path(docs / "a.md")
    assert (changed.files_added, changed.files_updated, changed.passages) == (0, 1, 1)
    assert store.search("zebras", top_k=5) == []
    assert store.search("pandas")[0].title == "Alpha"

    with pytest.raises(InputError, match="No file or folder"):
        store.add_path(tmp_path / "missing")
    with pytest.raises(InputError, match="not a text document"):
        store.add_path(docs / "sub" / "c.pdf")


def test_add_path_stays_inside_its_folder_and_survives_link_loops(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\n\nThe outside file mentions narwhals.\n", encoding="utf-8")
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "a.md").write_text("# Alpha\n\nAlpha talks about zebras.\n", encoding="utf-8")
    (docs / "sub" / "b.md").write_text("# Bravo\n\nBravo mentions giraffes.\n", encoding="utf-8")
    (docs / "loop").symlink_to(docs)  # a folder that contains itself
    (docs / "sub" / "up").symlink_to("..")
    (docs / "sub" / "self").symlink_to("self")  # a link to itself
    (docs / "out").symlink_to(outside)  # leads out of the folder
    (docs / "secret.md").symlink_to(outside / "secret.md")
    (docs / "passwd.txt").symlink_to("/etc/passwd")
    (docs / "inner.md").symlink_to(docs / "sub" / "b.md")  # stays inside: indexed once

    store = DocumentStore()
    report = store.add_path(docs)
    assert (report.files_added, report.files_unchanged) == (2, 1)  # a.md, b.md; b.md again through inner.md
    assert {s.source for s in store.sources()} == {
        str((docs / "a.md").resolve()),
        str((docs / "sub" / "b.md").resolve()),
    }
    assert store.search("narwhals", top_k=5) == []
    reasons = sorted(line.split(": ", 1)[1] for line in report.skipped)
    assert reasons == sorted(
        [
            "a broken or looping symbolic link",
            f"a symbolic link to {outside.resolve()}, outside the folder",
            f"a symbolic link to {(outside / 'secret.md').resolve()}, outside the folder",
            f"a symbolic link to {Path('/etc/passwd').resolve()}, outside the folder",
        ]
    )
    assert report.files_skipped == 4


def test_long_documents_become_titled_passages() -> None:
    text = "# Guide\n\nIntro paragraph.\n\n" + "\n\n".join(
        f"## Section {i}\n\n" + f"Sentence number {i} is here. " * 30 for i in range(4)
    )
    passages = split_passages("Guide", text, max_chars=400)
    assert len(passages) >= 4
    assert passages[0].title == "Guide"
    assert all(len(p.text) <= 400 + 40 for p in passages)
    assert any(p.title.startswith("Guide — Section") for p in passages[1:])
    assert "Intro paragraph." in passages[0].text and "# Guide" not in passages[0].text


def test_store_persists_and_default_store_loads_the_sample_once(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with default_document_store(path) as store:
        first = len(store)
        assert first > 0
        store.add_text("Mine", "My own note about wombats.", source="mine")
    with default_document_store(path) as reopened:
        assert len(reopened) == first + 1  # the sample corpus was not loaded a second time
        assert reopened.search("wombats")[0].source == "mine"
        assert reopened.remove("mine") and not reopened.remove("mine")


def test_store_refuses_unreadable_or_newer_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="Cannot open the document store"):
        DocumentStore(junk)
    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(SchemaVersionError):
        DocumentStore(newer)


def test_add_text_needs_title_and_text() -> None:
    store = DocumentStore()
    with pytest.raises(InputError):
        store.add_text(" ", "text")
    with pytest.raises(InputError):
        store.add_text("title", "  ")


# --- code runner -------------------------------------------------------------------------


@pytest.fixture
def runner() -> CodeRunner:
    return CodeRunner(enabled=True, timeout_s=5, memory_mb=256)


def test_code_output_and_exit_code(runner: CodeRunner) -> None:
    result = runner.run("import sys\nprint(sum(range(10)))\nprint('oops', file=sys.stderr)")
    assert result.exit_code == 0 and result.ok
    assert result.output == "45\noops\n"
    assert result.observation() == "exit code 0\n45\noops"

    failed = runner.run("raise ValueError('bad value')")
    assert failed.exit_code == 1
    assert "ValueError: bad value" in failed.output


async def test_code_tool_call_is_async(runner: CodeRunner) -> None:
    assert await runner("print('hi')") == "exit code 0\nhi"
    assert await runner("pass") == "exit code 0\n(no output)"


def test_code_timeout_kills_the_process() -> None:
    quick = CodeRunner(enabled=True, timeout_s=1)
    result = quick.run("import time\nprint('started', flush=True)\ntime.sleep(60)\nprint('never')")
    assert result.timed_out and not result.ok
    assert result.output == "started\n"
    assert result.observation(1).startswith("timed out after 1 s: the process was killed")


def test_code_memory_limit(runner: CodeRunner) -> None:
    result = runner.run("block = bytearray(1024 * 1024 * 1024)\nprint('allocated')")
    assert result.exit_code != 0
    assert "MemoryError" in result.output and "allocated" not in result.output
    small = runner.run("block = bytearray(32 * 1024 * 1024)\nprint('allocated', len(block))")
    assert small.output == f"allocated {32 * 1024 * 1024}\n"


def test_code_sees_no_secret_from_the_environment(runner: CodeRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADIXAGENT_TEST_SECRET", "s3cr3t-value-123")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    assert os.environ["RADIXAGENT_TEST_SECRET"] == "s3cr3t-value-123"
    result = runner.run("import os\nfor k, v in sorted(os.environ.items()):\n    print(k, '=', v)")
    assert "PATH = " in result.output
    assert "s3cr3t-value-123" not in result.output and "RADIXAGENT_TEST_SECRET" not in result.output
    assert "sk-should-not-leak" not in result.output
    names = {line.split(" = ")[0] for line in result.output.splitlines()}
    assert names <= {"PATH", "LANG", "HOME", "TMPDIR", "PWD"}


def test_code_runs_in_a_private_tmp_that_is_gone_afterwards(runner: CodeRunner) -> None:
    first = runner.run("import os\nopen('out.txt', 'w').write('x')\nprint(os.getcwd(), os.listdir('.'))")
    assert first.output == "/tmp ['out.txt', 'main.py']\n" or first.output == "/tmp ['main.py', 'out.txt']\n"
    second = runner.run("import os\nprint(os.listdir('/tmp'))")
    assert second.output == "['main.py']\n"  # each run starts from an empty tmpfs


def test_code_output_is_capped(runner: CodeRunner) -> None:
    capped = CodeRunner(enabled=True, timeout_s=5, max_output_bytes=1000)
    result = capped.run("print('x' * 50000)\nprint('한' * 1000)")
    assert result.truncated and result.output_bytes == 50001 + 3001
    assert len(result.output.encode()) <= 1000
    assert result.observation().endswith("[output truncated: first 1000 of 53002 bytes shown]")
    cut_in_a_char = capped.run("print('a' + '한' * 1000)")
    assert cut_in_a_char.output == "a" + "한" * 333  # the half character at the cut is dropped


def test_code_runner_is_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RADIXAGENT_ENABLE_CODE", raising=False)
    with pytest.raises(CodeExecutionDisabledError, match="RADIXAGENT_ENABLE_CODE=1") as caught:
        CodeRunner().run("print(1)")
    assert isinstance(caught.value, ConfigurationError)
    monkeypatch.setenv("RADIXAGENT_ENABLE_CODE", "1")
    assert CodeRunner().run("print(1)").output == "1\n"


def test_code_refuses_other_languages_and_empty_code(runner: CodeRunner) -> None:
    with pytest.raises(ToolArgumentsError, match="only Python is supported"):
        runner.run("console.log(1)", language="javascript")
    with pytest.raises(ToolArgumentsError, match="code is empty"):
        runner.run("   ")
    assert runner.run("print(2)", language="Python").output == "2\n"


# --- builtin_tools -----------------------------------------------------------------------


def test_builtin_tools_follow_the_tutorial_schemas(
    sample_store: DocumentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RADIXAGENT_ENABLE_CODE", raising=False)
    engine = ScriptedEngine()
    tools = builtin_tools(engine, documents=sample_store)
    assert [t.name for t in tools] == ["analyze_sentiment", "retrieve_documents", "generate_summary", "translate_text"]
    with_code = builtin_tools(engine, documents=sample_store, enable_code=True)
    assert [t.name for t in with_code] == [
        "analyze_sentiment",
        "retrieve_documents",
        "execute_code",
        "generate_summary",
        "translate_text",
    ]
    monkeypatch.setenv("RADIXAGENT_ENABLE_CODE", "true")
    assert "execute_code" in [t.name for t in builtin_tools(engine, documents=sample_store)]
    assert "execute_code" not in [t.name for t in builtin_tools(engine, documents=sample_store, enable_code=False)]

    assert SENTIMENT_SCHEMA.parameters["properties"]["language"]["enum"] == ["ko", "en", "ja", "zh"]
    assert CODE_SCHEMA.parameters["properties"]["language"]["enum"] == ["python", "javascript", "java"]
    assert SUMMARY_SCHEMA.parameters["properties"]["style"]["enum"] == ["concise", "detailed", "bullet_points"]
    assert RETRIEVAL_SCHEMA.parameters["properties"]["top_k"] == {
        "type": "integer",
        "description": RETRIEVAL_SCHEMA.parameters["properties"]["top_k"]["description"],
        "minimum": 1,
        "maximum": 20,
    }
    assert TRANSLATION_SCHEMA.parameters["required"] == ["text", "source_lang", "target_lang"]
    for tool in with_code:
        params = inspect.signature(tool.callable).parameters  # type: ignore[arg-type]
        assert list(params) == list(tool.schema.parameters["properties"])
        assert tool.callable.__name__ == tool.name  # type: ignore[union-attr]
        assert 1 <= len(tool.schema.examples) <= 2


async def test_builtin_tool_callables_run(sample_store: DocumentStore) -> None:
    engine = ScriptedEngine([" negative"])
    tools = {t.name: t.callable for t in builtin_tools(engine, documents=sample_store, enable_code=True)}
    assert tools["analyze_sentiment"] is not None and inspect.iscoroutinefunction(tools["analyze_sentiment"])
    assert (await tools["analyze_sentiment"]("배송이 늦었다")).startswith("negative (confidence ")
    assert "sample:ai-ethics-ko.md" in tools["retrieve_documents"]("인공지능 윤리", top_k=2)  # type: ignore[misc]
    assert await tools["execute_code"]("print(6 * 7)") == "exit code 0\n42"  # type: ignore[misc]


async def test_builtin_tools_register_and_run_through_the_executor(sample_store: DocumentStore) -> None:
    from radixagent.tools import ToolExecutor, ToolRegistry

    registry = ToolRegistry()
    for tool in builtin_tools(ScriptedEngine([" positive"]), documents=sample_store, enable_code=True):
        registry.register_tool(tool)
    executor = ToolExecutor(registry)
    assert (await executor.call("analyze_sentiment", {"text": "정말 좋은 날이다"})).startswith("positive")
    found = await executor.call("retrieve_documents", {"query": "인공지능 윤리", "top_k": 2})
    assert found.startswith("2 passages for '인공지능 윤리':")
    assert await executor.call("execute_code", {"code": "print('ok')"}) == "exit code 0\nok"
    record = await executor.execute("execute_code", {"code": "console.log(1)", "language": "javascript"})
    assert record.error is not None and "only Python is supported" in record.error
    record = await executor.execute("retrieve_documents", {"query": "x", "top_k": 50})
    assert record.error is not None and not record.executed  # the schema's maximum of 20


# --- sentiment (scripted) ----------------------------------------------------------------


async def test_sentiment_scores_the_three_labels_as_continuations() -> None:
    engine = ScriptedEngine([" positive", " neutral"])
    analyzer = SentimentAnalyzer(engine)
    assert await analyzer("이 제품은 정말 훌륭하고 품질이 우수합니다") == "positive (confidence 1.00)"
    result = await analyzer.analyze("The meeting is at noon.", language="en")
    assert result.label == "neutral"
    assert set(result.probabilities) == {"positive", "negative", "neutral"}
    assert sum(result.probabilities.values()) == pytest.approx(1.0)
    first, second = engine.prompts
    assert isinstance(first, str) and isinstance(second, str)
    assert first.endswith("Text (ko): 이 제품은 정말 훌륭하고 품질이 우수합니다\nSentiment:")
    assert second.endswith("Text (en): The meeting is at noon.\nSentiment:")
    shared = os.path.commonprefix([first, second])
    assert shared.count("Sentiment:") == 6  # the whole few-shot block is a shared, cacheable prefix


class FixedScoreEngine(ScriptedEngine):
    """Scores given per text: a model that leans to "positive" whatever it reads (the real
    numbers of SmolLM2-135M for "The package contains two cables and a manual.")."""

    PRIOR = {" positive": -0.60, " negative": -1.18, " neutral": -3.41}
    TEXT = {" positive": -0.36, " negative": -1.49, " neutral": -2.96}

    async def _score(self, prefix, choices):  # type: ignore[no-untyped-def]
        self.prompts.append(prefix)
        text = prefix.rsplit("): ", 1)[1].removesuffix("\nSentiment:")
        table = self.PRIOR if text in ("N/A", "[MASK]", "") else self.TEXT
        return ScoreResult(scores=[ChoiceScore(choice=c, mean_logprob=table[c], token_logprobs=[]) for c in choices])


async def test_sentiment_calibration_removes_the_models_lean() -> None:
    raw = await SentimentAnalyzer(FixedScoreEngine(), calibrate=False).analyze("The package contains two cables.")
    assert raw.label == "positive" and not raw.calibrated
    engine = FixedScoreEngine()
    analyzer = SentimentAnalyzer(engine, calibrate=True)
    result = await analyzer.analyze("The package contains two cables.", language="en")
    assert result.label == "neutral" and result.calibrated
    assert result.probabilities["neutral"] > result.probabilities["positive"] > result.probabilities["negative"]
    await analyzer.analyze("Another sentence.", language="en")
    assert len(engine.prompts) == 3 + 2  # the prior is measured once per language
    await analyzer.analyze("다른 문장", language="ko")
    assert len(engine.prompts) == 3 + 2 + 3 + 1
    assert not SentimentAnalyzer(ScriptedEngine()).calibrate  # scripted scores are given, not measured


async def test_sentiment_checks_its_arguments() -> None:
    analyzer = SentimentAnalyzer(ScriptedEngine())
    with pytest.raises(ToolArgumentsError, match="text is empty"):
        await analyzer("  ")
    with pytest.raises(ToolArgumentsError, match="language 'fr'"):
        await analyzer("Bonjour", language="fr")
    assert "\n" not in sentiment_prompt("line one\nline two", "en").rsplit("Text (en): ", 1)[1].removesuffix(
        "\nSentiment:"
    )


# --- summary and translation (scripted) --------------------------------------------------


class RecordingEngine(ScriptedEngine):
    """A scripted engine that also keeps the sampling parameters of each call."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.sampling: list[SamplingParams] = []

    async def _generate(self, prompt, constraint, sampling):  # type: ignore[no-untyped-def]
        self.sampling.append(sampling)
        return await super()._generate(prompt, constraint, sampling)


async def test_summary_prompt_and_token_cap() -> None:
    engine = RecordingEngine(["SGLang serves models fast."])
    summary = await Summarizer(engine)("SGLang is a fast serving framework. " * 20, max_length=30, style="concise")
    assert summary == "SGLang serves models fast."
    messages = engine.prompts[0]
    assert isinstance(messages, list) and all(isinstance(m, ChatMessage) for m in messages)
    assert "at most 30 words" in messages[-1].content and "one or two plain sentences" in messages[-1].content
    assert engine.sampling[0].max_tokens < 30 * 3 + 16


async def test_summary_overshoot_is_cut_at_a_sentence_end() -> None:
    reply = "RadixAttention reuses the KV cache. It keeps a radix tree of token ids and evicts leaves first."
    engine = RecordingEngine([reply, "one two three four five six seven eight nine ten eleven"])
    summarizer = Summarizer(engine)
    assert await summarizer("text " * 50, max_length=10) == "RadixAttention reuses the KV cache."
    assert await summarizer("text " * 50, max_length=5) == "one two three four five…"


async def test_summary_bullet_points_are_enforced() -> None:
    engine = RecordingEngine(
        [
            "<think>The user wants bullets.</think>Summary: SGLang is fast. It caches prefixes! It has a router.",
            "* first point here\n2) second point\n\n• third point that is longer than allowed",
        ]
    )
    summarizer = Summarizer(engine)
    bullets = await summarizer("some text", max_length=20, style="bullet_points")
    assert bullets == "- SGLang is fast.\n- It caches prefixes!\n- It has a router."
    assert "starting with '- '" in engine.prompts[0][-1].content  # type: ignore[index]
    limited = await summarizer("some text", max_length=6, style="bullet_points")
    assert limited == "- first point here\n- second point"


async def test_summary_uses_only_the_answer_text() -> None:
    completion = Completion(
        text="A short summary.",
        reasoning="SECRET CHAIN OF THOUGHT",
        finish_reason="stop",
        usage=Usage(prompt_tokens=10, completion_tokens=4),
    )
    summary = await Summarizer(ScriptedEngine([completion]))("long text here", max_length=10, style="detailed")
    assert summary == "A short summary."


async def test_summary_checks_its_arguments_and_empty_answers() -> None:
    summarizer = Summarizer(ScriptedEngine(["<think>only thinking</think>"]))
    with pytest.raises(ToolArgumentsError, match="style 'poem'"):
        await summarizer("text", style="poem")
    with pytest.raises(ToolArgumentsError, match="max_length counts words"):
        await summarizer("text", max_length=0)
    with pytest.raises(EngineResponseError, match="empty summary"):
        await summarizer("text", max_length=10)


def test_truncate_and_bullet_helpers() -> None:
    assert truncate_words("짧은 요약이다.", 5) == "짧은 요약이다."
    assert truncate_words("첫 문장이다. 두 번째 문장은 길다 아주 길다.", 5) == "첫 문장이다."
    assert truncate_words("a, b, c, d, e, f", 3) == "a, b, c…"
    assert to_bullets("- one\n- two", 10) == "- one\n- two"
    assert to_bullets("a single very long bullet with many words", 4) == "- a single very long…"


async def test_translation_prompt_and_cleanup() -> None:
    engine = RecordingEngine(['"안녕하세요, 세계"\n\nThis is a greeting in Korean.'])
    translator = Translator(engine)
    assert await translator("Hello World", "en", "ko") == "안녕하세요, 세계"
    system, user = engine.prompts[0]  # type: ignore[misc]
    assert "English" in system.content and "Korean" in system.content
    assert user.content.endswith("Hello World")
    assert engine.sampling[0].max_tokens == 3 * len("Hello World") + 32


async def test_translation_to_the_same_language_needs_no_model() -> None:
    engine = ScriptedEngine()  # no replies: a model call would fail
    assert await Translator(engine)(" 그대로 ", "ko", "Korean") == "그대로"
    with pytest.raises(ToolArgumentsError) as caught:
        await Translator(engine)("", "en", "")
    assert len(caught.value.errors) == 2


# --- with the real model -----------------------------------------------------------------


@pytest.fixture(scope="module")
async def real_engine():  # type: ignore[no-untyped-def]
    try:
        from radixagent.engine.embedded import EmbeddedEngine
    except ImportError as exc:
        pytest.skip(f"radixagent.engine.embedded is not importable ({exc}); the real-model checks need it")
    engine = EmbeddedEngine(context_size=2048, slots=2)
    yield engine
    await engine.aclose()


async def test_real_model_scores_an_obviously_positive_sentence_positive(real_engine) -> None:  # type: ignore[no-untyped-def]
    result = await SentimentAnalyzer(real_engine).analyze(
        "I love this wonderful product, it is excellent and works perfectly!", language="en"
    )
    assert result.label == "positive"
    assert result.confidence > 1 / 3


async def test_real_model_summary_honours_max_length(real_engine) -> None:  # type: ignore[no-untyped-def]
    text = (
        "SGLang is a serving framework for large language models. It keeps the KV cache of earlier requests "
        "in a radix tree, so a new request that starts with the same tokens skips their prefill. Agents benefit "
        "most, because every step repeats the system prompt, the tool descriptions and the history."
    )
    bullets = await Summarizer(real_engine)(text, max_length=12, style="bullet_points")
    lines = bullets.splitlines()
    assert lines and all(line.startswith("- ") and line[2:].strip() for line in lines)
    assert sum(len(line[2:].split()) for line in lines) <= 12


def test_a_phrase_the_model_looped_on_is_written_once() -> None:
    assert clean_model_text("좋은 아침 맑은 하늘 맑은 하늘 맑은 하늘") == "좋은 아침 맑은 하늘"
    assert clean_model_text("Le chat dort. Le chat dort. Le chat dort.") == "Le chat dort."
    assert clean_model_text("おはようおはようおはよう世界") == "おはよう世界"
    # said twice, or inside a number or a word, it stays
    for kept in ("Bye, bye.", "very very good", "1000000 won", "3.333333", "Mississippi", "aaa"):
        assert clean_model_text(kept) == kept
