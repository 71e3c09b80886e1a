"""Prompts that only grow: the learned chat format, the transcript and the prefix ledger."""

from __future__ import annotations

import pytest

from radixagent.engine import ChatMessage, ScriptedEngine
from radixagent.engine.prefix import PrefixLedger
from radixagent.prompting import CHATML, ChatFormat, Transcript


async def test_the_chat_format_is_learned_from_the_models_template() -> None:
    from radixagent.engine.embedded import EmbeddedEngine

    engine = EmbeddedEngine(slots=1, context_size=512)
    try:
        fmt = await ChatFormat.learn(engine)
        assert fmt == CHATML  # SmolLM2's template is ChatML
        rendered = await engine.render_chat(
            [ChatMessage(role="system", content="S"), ChatMessage(role="user", content="U")]
        )
        assert rendered == fmt.system("S") + fmt.user_turn("U", after_assistant=False)
    finally:
        await engine.aclose()


async def test_an_engine_without_a_template_learns_nothing() -> None:
    assert await ChatFormat.learn(ScriptedEngine()) is None


async def test_a_transcript_sends_exact_extensions_and_forks_independently() -> None:
    engine = ScriptedEngine(["one", "two", "three"])
    transcript = Transcript(engine, PrefixLedger())
    await transcript.append(CHATML.system("Be brief.") + CHATML.user_turn("Hi", after_assistant=False))
    first = await transcript.generate()
    assert transcript.text.endswith("one") and transcript.ids is not None
    branch = transcript.fork()
    await transcript.append(CHATML.user_turn("More", after_assistant=True))
    await transcript.generate()
    await branch.append(CHATML.user_turn("Other", after_assistant=True))
    await branch.generate()
    sent = [list(p) for p in engine.prompts]
    assert sent[1][: len(sent[0])] == sent[0] and sent[2][: len(sent[0])] == sent[0]
    assert sent[1] != sent[2]
    # both later prompts reuse everything the first request sent and generated
    assert transcript.usage.cached_tokens == len(sent[0]) + first.usage.completion_tokens
    assert transcript.cacheable_tokens == transcript.usage.cached_tokens


@pytest.mark.parametrize(
    ("seen", "ids", "shared", "cacheable"),
    [([[1, 2, 3]], [1, 2, 3], 3, 2), ([[1, 2, 3]], [1, 2, 4], 2, 2), ([[1, 2], [1, 5, 6]], [1, 5, 6, 7], 3, 3), ([], [1], 0, 0)],
)
def test_the_ledger_counts_the_longest_shared_prefix(seen, ids, shared, cacheable) -> None:
    ledger = PrefixLedger()
    for sequence in seen:
        ledger.observe(sequence)
    assert ledger.shared(ids) == shared
    assert ledger.cacheable(ids) == cacheable


async def test_rewind_drops_what_came_after_the_mark() -> None:
    from radixagent.engine import ScriptedEngine
    from radixagent.prompting import PrefixLedger, Transcript

    engine = ScriptedEngine(['{"a": 1}'])
    transcript = Transcript(engine, PrefixLedger())
    await transcript.append("Arguments: ")
    mark = transcript.mark()
    await transcript.generate()
    assert transcript.text == 'Arguments: {"a": 1}'
    transcript.rewind(mark)
    assert transcript.text == "Arguments: "
    assert transcript.ids == await engine.tokenize("Arguments: ")
