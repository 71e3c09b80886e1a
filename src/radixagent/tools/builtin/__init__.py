"""The tutorial's five tools, made real.

    analyze_sentiment    the model scores positive / negative / neutral (choice scoring)
    retrieve_documents   BM25 over a local SQLite FTS5 document store
    execute_code         Python in a sandbox (bubblewrap namespaces); off unless enabled
    generate_summary     model-written summary, held to max_length words and a style
    translate_text       model-written translation

Names, parameters and enums follow the tutorial's `ToolSchema`s, so its registration code
and prompts carry over. `builtin_tools(engine)` returns them ready to register.
"""

from __future__ import annotations

from pathlib import Path

from radixagent.engine.base import Engine
from radixagent.errors import CodeExecutionDisabledError
from radixagent.schemas import ToolDefinition, ToolSchema
from radixagent.settings import get_settings
from radixagent.tools.builtin.code import CodeResult, CodeRunner
from radixagent.tools.builtin.documents import (
    DocumentRetriever,
    DocumentStore,
    IndexReport,
    SearchResult,
    SourceInfo,
    default_document_store,
)
from radixagent.tools.builtin.sentiment import SentimentAnalyzer, SentimentResult
from radixagent.tools.builtin.text import Summarizer, Translator

SENTIMENT_SCHEMA = ToolSchema(
    name="analyze_sentiment",
    description="텍스트의 감정을 분석하여 긍정/부정/중립을 판단한다 (analyse the sentiment of a text: positive, negative or neutral)",
    parameters={
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "분석할 텍스트 (the text to analyse)"},
            "language": {
                "type": "string",
                "description": "텍스트 언어 (the text's language)",
                "enum": ["ko", "en", "ja", "zh"],
            },
        },
        "required": ["text"],
    },
    return_type="string",
    examples=[
        {"text": "정말 좋은 날이다", "language": "ko", "result": "positive (confidence 0.91)"},
        {"text": "The battery died after one day.", "language": "en", "result": "negative (confidence 0.84)"},
    ],
)

RETRIEVAL_SCHEMA = ToolSchema(
    name="retrieve_documents",
    description="문서 데이터베이스에서 관련 문서를 검색한다 (search the document store; best passages first)",
    parameters={
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "검색 쿼리 (search words)"},
            "top_k": {
                "type": "integer",
                "description": "반환할 문서 수 (how many passages)",
                "minimum": 1,
                "maximum": 20,
            },
            "filter_criteria": {
                "type": "string",
                "description": "필터 조건: source:TEXT, title:TEXT, or plain TEXT (source or title contains it)",
            },
        },
        "required": ["query"],
    },
    return_type="string",
    examples=[
        {"query": "인공지능 윤리", "top_k": 3},
        {"query": "RadixAttention prefix cache", "top_k": 5, "filter_criteria": "source:sample:"},
    ],
)

CODE_SCHEMA = ToolSchema(
    name="execute_code",
    description="프로그래밍 코드를 실행하고 결과를 반환한다 (run Python code; returns exit code and output)",
    parameters={
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "실행할 코드 (the code to run)"},
            "language": {
                "type": "string",
                "description": "프로그래밍 언어 (only python runs)",
                "enum": ["python", "javascript", "java"],
            },
        },
        "required": ["code"],
    },
    return_type="string",
    examples=[{"code": "print(sum(range(10)))", "language": "python", "result": "exit code 0\n45"}],
)

SUMMARY_SCHEMA = ToolSchema(
    name="generate_summary",
    description="긴 텍스트를 지정된 길이와 스타일로 요약한다 (summarise a text in at most max_length words)",
    parameters={
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "요약할 텍스트 (the text to summarise)"},
            "max_length": {"type": "integer", "description": "최대 길이 (maximum length in words)"},
            "style": {
                "type": "string",
                "description": "요약 스타일 (summary style)",
                "enum": ["concise", "detailed", "bullet_points"],
            },
        },
        "required": ["text"],
    },
    return_type="string",
    examples=[
        {
            "text": "SGLang is a fast serving framework for large language models. It reuses the KV cache.",
            "max_length": 20,
            "style": "concise",
        }
    ],
)

TRANSLATION_SCHEMA = ToolSchema(
    name="translate_text",
    description="텍스트를 한 언어에서 다른 언어로 번역한다 (translate a text from one language to another)",
    parameters={
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "번역할 텍스트 (the text to translate)"},
            "source_lang": {"type": "string", "description": "원본 언어 (source language, e.g. en)"},
            "target_lang": {"type": "string", "description": "대상 언어 (target language, e.g. ko)"},
        },
        "required": ["text", "source_lang", "target_lang"],
    },
    return_type="string",
    examples=[{"text": "Hello World", "source_lang": "en", "target_lang": "ko", "result": "안녕하세요, 세계"}],
)


def builtin_tools(
    engine: Engine,
    *,
    documents: DocumentStore | str | Path | None = None,
    enable_code: bool | None = None,
    code_runner: CodeRunner | None = None,
) -> list[ToolDefinition]:
    """The five tools, ready to register, in the tutorial's order.

    `documents` is a `DocumentStore` or the path of one; by default the store in the data
    directory, with the sample corpus loaded if it is empty. `execute_code` is left out unless
    `enable_code` is True (None: the `code_runner`'s own switch if one is given, else the
    `RADIXAGENT_ENABLE_CODE` setting, off by default)."""
    store = documents if isinstance(documents, DocumentStore) else default_document_store(documents)
    analyzer = SentimentAnalyzer(engine)
    retriever = DocumentRetriever(store)
    summarizer = Summarizer(engine)
    translator = Translator(engine)

    async def analyze_sentiment(text: str, language: str = "ko") -> str:
        """Analyse the sentiment of a text: positive, negative or neutral, with the model's probability."""
        return await analyzer(text, language)

    def retrieve_documents(query: str, top_k: int = 5, filter_criteria: str | None = None) -> str:
        """Search the document store (BM25); returns the best passages with title, source and snippet."""
        return retriever(query, top_k, filter_criteria)

    async def generate_summary(text: str, max_length: int = 100, style: str = "concise") -> str:
        """Summarise a text in at most max_length words, concise, detailed or as bullet points."""
        return await summarizer(text, max_length, style)

    async def translate_text(text: str, source_lang: str, target_lang: str) -> str:
        """Translate a text from source_lang to target_lang."""
        return await translator(text, source_lang, target_lang)

    tools = [
        ToolDefinition(schema=SENTIMENT_SCHEMA, callable=analyze_sentiment),
        ToolDefinition(schema=RETRIEVAL_SCHEMA, callable=retrieve_documents, timeout_s=10.0),
    ]
    if enable_code is None:
        enable_code = code_runner.enabled if code_runner is not None else get_settings().enable_code
    if enable_code:
        runner = code_runner or CodeRunner(enabled=True)

        async def execute_code(code: str, language: str = "python") -> str:
            """Run Python code in a sandbox with no network and no access to the host; returns the exit code and the output."""
            return await runner(code, language)

        tools.append(ToolDefinition(schema=CODE_SCHEMA, callable=execute_code, timeout_s=runner.timeout_s + 5))
    tools += [
        ToolDefinition(schema=SUMMARY_SCHEMA, callable=generate_summary, timeout_s=120.0),
        ToolDefinition(schema=TRANSLATION_SCHEMA, callable=translate_text, timeout_s=120.0),
    ]
    return tools


__all__ = [
    "CODE_SCHEMA",
    "RETRIEVAL_SCHEMA",
    "SENTIMENT_SCHEMA",
    "SUMMARY_SCHEMA",
    "TRANSLATION_SCHEMA",
    "CodeExecutionDisabledError",
    "CodeResult",
    "CodeRunner",
    "DocumentRetriever",
    "DocumentStore",
    "IndexReport",
    "SearchResult",
    "SentimentAnalyzer",
    "SentimentResult",
    "SourceInfo",
    "Summarizer",
    "Translator",
    "builtin_tools",
    "default_document_store",
]
