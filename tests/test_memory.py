"""The conversation tree and RadixMemory: branching, forking, exact prompt prefixes,
statistics from the engine's usage, compaction, persistence through the store."""

from __future__ import annotations

import threading

import pytest

from conftest import StoreBackend
from radixagent.engine import ScriptedEngine, Usage
from radixagent.engine.prefix import common_prefix_length
from radixagent.errors import InputError, NodeNotFoundError, RadixAgentError, StoreError
from radixagent.memory import ConversationTree, PromptRecord, RadixMemory
from radixagent.schemas import AnswerPart, DecisionPart, Message, ToolCall, ToolCallPart, UserTextPart

# --- the tree ----------------------------------------------------------------------------


def test_tree_root_is_system_and_add_message_moves_head() -> None:
    tree = ConversationTree("You are helpful.")
    assert tree.root.role == "system" and tree.root.depth == 0
    u = tree.add_message("user", "hi")
    a = tree.add_message("assistant", "hello")
    assert tree.head_id == a.id
    assert [m.role for m in tree.messages()] == ["system", "user", "assistant"]
    assert [n.depth for n in tree.path_to_root()] == [0, 1, 2]
    assert tree.get(u.id).children == [a.id]
    assert a.parent_id == u.id
    assert isinstance(tree.messages()[1], Message)


def test_branch_from_node_starts_a_sibling_branch() -> None:
    tree = ConversationTree("sys")
    u1 = tree.add_message("user", "question")
    a1 = tree.add_message("assistant", "first answer")
    tree.branch_from_node(u1.id)
    a2 = tree.add_message("assistant", "second answer")
    assert tree.get(u1.id).children == [a1.id, a2.id]
    assert [m.content for m in tree.messages()] == ["sys", "question", "second answer"]
    assert [m.content for m in tree.messages(a1.id)] == ["sys", "question", "first answer"]
    assert {leaf.id for leaf in tree.leaves()} == {a1.id, a2.id}


def test_fork_gives_independent_heads_sharing_the_prefix() -> None:
    tree = ConversationTree("sys")
    u = tree.add_message("user", "name three colours")
    branches = tree.fork(u.id, 3)
    assert len(branches) == 3 and len({b.id for b in branches}) == 3
    for i, b in enumerate(branches):
        b.add_message("assistant", f"answer {i}")
        b.add_message("user", f"follow-up {i}")
    assert tree.head_id == u.id  # forking does not move the current head
    for i, b in enumerate(branches):
        assert [m.content for m in b.messages()] == ["sys", "name three colours", f"answer {i}", f"follow-up {i}"]
        assert b.base_id == u.id
    assert len(tree.get(u.id).children) == 3
    assert len(tree.leaves()) == 3


def test_fork_from_threads_keeps_every_message() -> None:
    tree = ConversationTree("sys")
    branches = tree.fork(n=4)

    def grow(i: int) -> None:
        for j in range(25):
            branches[i].add_message("user" if j % 2 == 0 else "assistant", f"{i}-{j}")

    threads = [threading.Thread(target=grow, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tree) == 1 + 4 * 25
    for i, b in enumerate(branches):
        assert [m.content for m in b.messages()[1:]] == [f"{i}-{j}" for j in range(25)]


def test_unknown_nodes_raise_typed_errors() -> None:
    tree = ConversationTree("sys")
    with pytest.raises(NodeNotFoundError) as info:
        tree.branch_from_node("nope")
    assert info.value.node_id == "nope"
    assert isinstance(info.value, StoreError) and isinstance(info.value, RadixAgentError)
    with pytest.raises(NodeNotFoundError):
        tree.fork("nope", 2)
    with pytest.raises(NodeNotFoundError):
        tree.path_to_root("nope")
    with pytest.raises(InputError):
        tree.fork(None, 0)


def test_bad_messages_are_refused() -> None:
    tree = ConversationTree("sys")
    with pytest.raises(InputError, match="role"):
        tree.add_message("robot", "beep")
    with pytest.raises(InputError, match="assistant"):
        tree.add_message("user", "hi", prompt=PromptRecord(prompt_text="x"))
    assert len(tree) == 1


def test_prompt_prefix_is_previous_prompt_plus_output() -> None:
    tree = ConversationTree("sys")
    assert tree.prompt_prefix() is None
    tree.add_message("user", "hi")
    record = PromptRecord(
        prompt_text="<s>sys<u>hi<a>", prompt_token_ids=[1, 2, 3, 4], output_token_ids=[7, 8], output_text="hello!"
    )
    a = tree.add_message("assistant", "hello", prompt=record)
    tree.add_message("tool", "result 42")
    tree.add_message("user", "thanks")
    prefix = tree.prompt_prefix()
    assert prefix is not None
    assert prefix.node_id == a.id
    assert prefix.token_ids == [1, 2, 3, 4, 7, 8]
    assert prefix.text == "<s>sys<u>hi<a>hello!"
    assert [m.content for m in prefix.new_messages] == ["result 42", "thanks"]


def test_prompt_prefix_latest_record_wins_and_text_falls_back_to_content() -> None:
    tree = ConversationTree("sys")
    tree.add_message("user", "a")
    tree.add_message("assistant", "b", prompt=PromptRecord(prompt_token_ids=[1], output_token_ids=[2]))
    tree.add_message("user", "c")
    tree.add_message("assistant", "d", prompt=PromptRecord(prompt_text="P"))
    prefix = tree.prompt_prefix()
    assert prefix is not None
    assert prefix.token_ids is None and prefix.text == "Pd" and prefix.new_messages == []


def test_tree_compaction_keeps_originals() -> None:
    tree = ConversationTree("sys")
    ids = [tree.add_message("user" if i % 2 == 0 else "assistant", f"m{i}").id for i in range(6)]
    plan = tree.compact(2, "summary of m0..m3")
    assert [(m.role, m.content) for m in tree.messages()] == [
        ("system", "sys"),
        ("system", "summary of m0..m3"),
        ("user", "m4"),
        ("assistant", "m5"),
    ]
    assert plan.replaced_ids == ids[:4]
    assert [n.source_id for n in plan.kept] == ids[4:]
    assert all(i in tree for i in ids)  # nothing was removed
    assert [m.content for m in tree.messages(ids[-1])][-1] == "m5"
    assert tree.compactions == 1
    with pytest.raises(InputError, match="Nothing to compact"):
        tree.compact(10, "x")
    with pytest.raises(InputError):
        tree.compact(-1, "x")
    with pytest.raises(InputError):
        tree.compact(0, "  ")


def test_from_nodes_rebuilds_the_same_tree() -> None:
    tree = ConversationTree("sys")
    u = tree.add_message("user", "q")
    tree.add_message("assistant", "a1")
    tree.branch_from_node(u.id)
    a2 = tree.add_message("assistant", "a2")
    copy = ConversationTree.from_nodes(tree.nodes(), a2.id)
    assert copy.messages() == tree.messages()
    assert copy.get(u.id).children == tree.get(u.id).children
    with pytest.raises(NodeNotFoundError):
        ConversationTree.from_nodes(tree.nodes(), "missing")


# --- RadixMemory -------------------------------------------------------------------------


def test_tutorial_flow_works() -> None:
    memory = RadixMemory()
    memory.initialize_with_system("You are an assistant.")
    first = memory.add_message("user", "Tell me about Python")
    memory.add_message("assistant", "Python is a language.", [DecisionPart(action="answer", confidence=0.9), AnswerPart(content="Python is a language.")])
    history = memory.get_conversation_history()
    assert [(m.role, m.content) for m in history] == [
        ("system", "You are an assistant."),
        ("user", "Tell me about Python"),
        ("assistant", "Python is a language."),
    ]
    assert history[2].parts_of(AnswerPart) == [AnswerPart(content="Python is a language.")]
    assert history[1].parts == [UserTextPart(content="Tell me about Python")]
    assert memory.branch_from_node(first) is True
    assert memory.branch_from_node("missing") is False
    memory.add_message("assistant", "Another answer.")
    stats = memory.get_statistics()
    assert stats.total_messages == 4
    assert stats.branches == 2
    assert stats.current_depth == 2 and stats.max_depth == 2


def test_add_message_without_initialize_starts_with_empty_system() -> None:
    memory = RadixMemory()
    memory.add_message("user", "hi")
    assert [(m.role, m.content) for m in memory.get_conversation_history()] == [("system", ""), ("user", "hi")]


def test_cache_numbers_come_from_recorded_usage() -> None:
    memory = RadixMemory()
    memory.initialize_with_system("sys")
    assert memory.get_cache_hit_rate() == 0.0
    n1 = memory.add_message("assistant", "one")
    memory.record_usage(Usage(prompt_tokens=100, completion_tokens=10, cached_tokens=0), 0, 50.0, node_id=n1)
    memory.record_usage(Usage(prompt_tokens=120, completion_tokens=5, cached_tokens=90), 100, 20.0)
    memory.record_usage(Usage(prompt_tokens=80, completion_tokens=5, cached_tokens=60), 60, 10.0)
    assert memory.get_cache_hit_rate() == pytest.approx(150 / 300)
    assert memory.get_prefix_efficiency() == pytest.approx(150 / 160)
    stats = memory.get_statistics()
    assert (stats.engine_calls, stats.prompt_tokens, stats.completion_tokens) == (3, 300, 20)
    assert (stats.cached_tokens, stats.cacheable_tokens) == (150, 160)
    assert stats.cache_hit_rate == pytest.approx(0.5)
    assert stats.prefix_efficiency == pytest.approx(0.9375)
    with pytest.raises(InputError):
        memory.record_usage(Usage(prompt_tokens=10), 11, 1.0)
    with pytest.raises(NodeNotFoundError):
        memory.record_usage(Usage(prompt_tokens=10), 5, 1.0, node_id="missing")


async def test_usage_from_a_real_engine_run_with_exact_prefixes() -> None:
    """Prompts built as previous prompt + output + new tokens: the scripted engine's prefix
    cache reports them cached, and the memory's numbers are exactly the engine's."""
    engine = ScriptedEngine(["Hello there.", "Fine, thanks."])
    memory = RadixMemory()
    memory.initialize_with_system("You are brief.")
    memory.add_message("user", "Hi!")
    prompt_ids = await engine.tokenize("<system>You are brief.<user>Hi!<assistant>")
    completion = await engine.generate(prompt_ids)
    node = memory.add_message(
        "assistant",
        completion.text,
        prompt=PromptRecord(prompt_token_ids=prompt_ids, output_token_ids=completion.token_ids),
    )
    memory.record_usage(completion.usage, 0, completion.timings.total_ms, node_id=node)
    memory.add_message("user", "How are you?")
    prefix = memory.prompt_prefix()
    assert prefix is not None and prefix.token_ids is not None
    new_ids = prefix.token_ids + await engine.tokenize("<user>How are you?<assistant>")
    cacheable = common_prefix_length(prefix.token_ids, new_ids)
    second = await engine.generate(new_ids)
    memory.record_usage(second.usage, cacheable, second.timings.total_ms)
    assert second.usage.cached_tokens == len(prefix.token_ids)
    total_prompt = completion.usage.prompt_tokens + second.usage.prompt_tokens
    assert memory.get_cache_hit_rate() == pytest.approx(second.usage.cached_tokens / total_prompt)
    assert memory.get_prefix_efficiency() == pytest.approx(1.0)


def test_memory_fork_branches_are_persisted(store_backend: StoreBackend) -> None:
    store = store_backend.open()
    memory = RadixMemory(store=store)
    memory.initialize_with_system("sys")
    u = memory.add_message("user", "pick")
    branches = memory.fork(u, 2)
    branches[0].add_message("assistant", "left")
    branches[1].add_message("assistant", "right")
    assert memory.current_node_id == u
    restored = RadixMemory.load(store_backend.open(), memory.session_id or "")
    assert restored.current_node_id == u
    assert [restored.get_node(b.head_id).content for b in branches] == ["left", "right"]
    assert restored.get_statistics().branches == 2


def test_memory_compaction_is_reported_and_persisted(store_backend: StoreBackend) -> None:
    memory = RadixMemory(max_depth=4, store=store_backend.open())
    memory.initialize_with_system("sys")
    for i in range(5):
        memory.add_message("user" if i % 2 == 0 else "assistant", f"turn {i}")
    assert memory.needs_compaction
    before = memory.current_node_id
    result = memory.compact(1, "The user and assistant talked about turns 0-3.")
    assert (result.replaced, result.kept) == (4, 1)
    assert memory.current_node_id == result.head_id != before
    assert [m.content for m in memory.get_conversation_history()] == [
        "sys",
        "The user and assistant talked about turns 0-3.",
        "turn 4",
    ]
    assert not memory.needs_compaction
    stats = memory.get_statistics()
    assert stats.compactions == 1 and stats.total_messages == 1 + 5 + 2 and stats.current_depth == 2
    restored = RadixMemory.load(store_backend.open(), memory.session_id or "", max_depth=4)
    assert restored.get_statistics() == stats
    assert restored.get_conversation_history() == memory.get_conversation_history()
    assert [m.content for m in restored.get_conversation_history(before)][-1] == "turn 4"


def test_restart_restores_tree_head_and_usage(store_backend: StoreBackend) -> None:
    memory = RadixMemory(store=store_backend.open(), title="demo")
    memory.initialize_with_system("sys")
    memory.add_message("user", "q1")
    a = memory.add_message(
        "assistant", "a1", prompt=PromptRecord(prompt_token_ids=[5, 6], output_token_ids=[9], prompt_text="t")
    )
    memory.record_usage(Usage(prompt_tokens=40, completion_tokens=3, cached_tokens=30), 35, 7.5, node_id=a)
    memory.branch_from_node(a)
    memory.store.close()

    restored = RadixMemory.load(store_backend.open(), memory.session_id or "")
    assert restored.title == "demo"
    assert restored.current_node_id == a
    assert restored.get_conversation_history() == memory.get_conversation_history()
    assert restored.get_node(a).prompt == PromptRecord(prompt_token_ids=[5, 6], output_token_ids=[9], prompt_text="t")
    assert restored.get_cache_hit_rate() == pytest.approx(0.75)
    assert restored.prompt_prefix() is not None
    restored.add_message("user", "q2")
    assert len(restored.get_conversation_history()) == 4


def test_failed_write_leaves_memory_unchanged() -> None:
    memory = RadixMemory()
    memory.initialize_with_system("sys")
    memory.add_message("user", "hi")
    before = memory.get_statistics()
    with pytest.raises(InputError, match="JSON"):
        memory.add_message("assistant", "x", [ToolCallPart(call=ToolCall(tool_name="t", arguments={"bad": object()}))])
    assert memory.get_statistics() == before
    assert len(memory.store.load_nodes(memory.session_id or "")) == before.total_messages


def test_initialize_again_starts_a_new_session_and_clear_forgets() -> None:
    memory = RadixMemory()
    memory.initialize_with_system("one")
    memory.add_message("user", "hi")
    first = memory.session_id
    memory.initialize_with_system("two")
    assert memory.session_id != first
    assert [m.content for m in memory.get_conversation_history()] == ["two"]
    assert len(memory.store.load_nodes(first or "")) == 2  # the old session is still stored
    memory.clear()
    assert memory.session_id is None and memory.get_conversation_history() == []
    assert memory.get_statistics().total_messages == 0
    memory.add_message("user", "again")
    assert memory.session_id not in (None, first)


def test_common_prefix_length() -> None:
    assert common_prefix_length([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix_length([], [1]) == 0
    assert common_prefix_length([1, 2], [1, 2, 3]) == 2


def test_the_prefix_ledger_agrees_with_a_plain_search_of_what_it_saw() -> None:
    """The ledger's radix tree (runs of tokens per edge, split where a sequence leaves one)
    gives the longest prefix seen, as a search of every recorded sequence does."""
    import random

    from radixagent.engine.prefix import PrefixLedger

    def longest(seen: list[list[int]], ids: list[int]) -> int:
        return max((common_prefix_length(s, ids) for s in seen), default=0)

    rng = random.Random(7)
    for _ in range(200):
        ledger, seen = PrefixLedger(), list[list[int]]()
        pool = [[rng.randrange(4) for _ in range(rng.randrange(12))] for _ in range(5)]
        for _ in range(40):
            base = rng.choice(pool)
            ids = base[: rng.randrange(len(base) + 1)] + [rng.randrange(4) for _ in range(rng.randrange(6))]
            if rng.random() < 0.5:
                assert ledger.shared(ids) == longest(seen, ids)
            else:
                assert ledger.record(ids) == longest(seen, ids)
                seen.append(ids)
            pool.append(ids)
        assert ledger.cacheable([9, 9]) == 0
