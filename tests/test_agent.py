"""The agent loop on the scripted engine: decisions, tools, repairs, memory, faults.

The scripted engine's `score` takes the next scripted reply as the winning choice, and its
generations must satisfy the constraint they run under, so these scripts also check that
the agent asks for what it should (a tool's own schema for its arguments, ...)."""

from __future__ import annotations

import asyncio
import time

import pytest
from pydantic import BaseModel

from radixagent.agent import Agent
from radixagent.decision import DecisionSettings
from radixagent.engine import ScriptedEngine
from radixagent.errors import EngineUnavailableError, InputError
from radixagent.memory import RadixMemory, SQLiteStore
from radixagent.recovery import RetryPolicy
from radixagent.schemas import ToolSchema

# The loop's mechanics, with the model's replies scripted: the model decides alone (the
# request's own evidence, on by default, is tested in test_evidence.py on the real engine).
MODEL_ONLY = DecisionSettings().model_only()


def make_agent(replies: list, **options) -> tuple[Agent, ScriptedEngine]:
    engine = ScriptedEngine(replies)
    options.setdefault("decision", MODEL_ONLY)
    agent = Agent(engine, **options)

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return agent, engine


def test_tool_call_then_answer() -> None:
    agent, engine = make_agent([" add", '{"a": 2, "b": 40}', " answer", "The sum is 42."])
    response = agent.run_sync("What is 2 + 40?")
    assert response.is_successful, response.error_message
    assert response.content == "The sum is 42."
    [call] = response.tool_calls
    assert (call.tool, call.arguments, call.result) == ("add", {"a": 2, "b": 40}, "42")
    assert response.usage.prompt_tokens > 0 and response.total_tokens == response.usage.total_tokens
    # every prompt extends the previous one exactly
    prompts = [p for p in engine.prompts]
    for earlier, later in zip(prompts, prompts[1:], strict=False):
        assert later[: len(earlier)] == earlier
    assert response.prefix_efficiency == pytest.approx(1.0)
    history = [m.role for m in agent.memory.get_conversation_history()]
    assert history == ["system", "user", "assistant", "tool", "assistant"]


def test_each_message_is_stored_with_the_reply_to_it() -> None:
    """The user's message is written with the call that answers it, the tool's result with the
    answer: one write per assistant turn, every message stored once and in order."""
    store = SQLiteStore(":memory:")
    writes: list[list[str]] = []
    add_nodes = store.add_nodes

    def counted(session_id, nodes, **options):  # type: ignore[no-untyped-def]
        writes.append([n.message.role for n in nodes])
        return add_nodes(session_id, nodes, **options)

    store.add_nodes = counted  # type: ignore[method-assign]
    agent, _ = make_agent([" add", '{"a": 2, "b": 40}', " answer", "The sum is 42."], store=store)
    response = agent.run_sync("What is 2 + 40?")
    assert response.is_successful, response.error_message
    assert writes == [["user", "assistant"], ["tool", "assistant"]]
    stored = store.load_nodes(agent.memory.session_id or "")
    assert [n.message.role for n in stored] == ["system", "user", "assistant", "tool", "assistant"]
    assert [n.parent_id for n in stored[1:]] == [n.id for n in stored[:-1]]
    assert store.get_session(agent.memory.session_id or "").head_node_id == response.node_id == stored[-1].id


def test_a_question_back_must_be_a_question_else_it_is_the_answer() -> None:
    agent, _ = make_agent([" ask", "Which of your two gardens do you mean?"])
    asked = agent.run_sync("Water the garden.")
    assert asked.content == "Which of your two gardens do you mean?"
    assert any("asked for more information" in s for s in asked.reasoning_steps)

    agent, _ = make_agent([" ask", "Otters sleep holding hands so they do not drift apart."])
    answered = agent.run_sync("Why do otters hold hands?")
    assert answered.content == "Otters sleep holding hands so they do not drift apart."
    assert any("answered" in s for s in answered.reasoning_steps)
    assert not any("asked" in s for s in answered.reasoning_steps)

    agent, _ = make_agent([" ask", "어느 정원을 말씀하시나요？"])  # a full-width question mark
    assert any("asked for more information" in s for s in agent.run_sync("정원에 물을 주세요.").reasoning_steps)


def test_second_run_extends_the_first_exactly() -> None:
    agent, engine = make_agent([" answer", "Hello!", " answer", "Still here."])
    agent.run_sync("Hi")
    first_end = list(engine.prompts[-1])
    second = agent.run_sync("Are you there?")
    assert second.content == "Still here."
    assert engine.prompts[-2][: len(first_end)] == first_end
    assert second.cache_hit_rate > 0.8


def test_tool_that_raises_becomes_an_observation() -> None:
    agent, _ = make_agent([" boom", " answer", "It failed, sorry."])  # no parameters: no arguments to generate

    @agent.tool
    def boom() -> str:
        """Always fails."""
        raise RuntimeError("disk on fire")

    response = agent.run_sync("Run boom")
    assert response.is_successful
    assert response.tool_calls[0].error and "disk on fire" in response.tool_calls[0].error
    observation = agent.memory.get_conversation_history()[-2]
    assert observation.role == "tool" and "disk on fire" in observation.content


def test_tool_that_hangs_times_out() -> None:
    agent, _ = make_agent([" slow", " answer", "Too slow."])

    @agent.tool(timeout_s=0.2)
    def slow() -> str:
        """Hangs."""
        time.sleep(5)
        return "never"

    response = agent.run_sync("Run slow")
    assert response.tool_calls[0].error_type == "timeout"
    assert response.content == "Too slow."


def test_invalid_arguments_are_re_asked_with_the_error() -> None:
    engine = ScriptedEngine([" pick", '{"n": 50}', " pick", '{"n": 5}', " answer", "Picked 5."])
    agent = Agent(engine, decision=MODEL_ONLY)

    @agent.tool
    def pick(n: int) -> int:
        """Pick a number from 1 to 10."""
        if not 1 <= n <= 10:
            raise ValueError("n must be between 1 and 10")
        return n

    response = agent.run_sync("Pick a number")
    assert response.is_successful
    assert [c.arguments["n"] for c in response.tool_calls] == [50, 5]


def test_schema_bound_violation_is_repaired_within_budget() -> None:
    engine = ScriptedEngine([" pick", '{"n": 50}'] * 3)
    agent = Agent(engine, tool_retries=1, decision=MODEL_ONLY)
    agent.add_tool(
        ToolSchema(name="pick", description="Pick", parameters={"type": "object", "properties": {"n": {"type": "integer"}}})
    )
    # schema-only tool: the call goes back to the caller unexecuted
    response = agent.run_sync("Pick")
    assert response.is_successful
    assert response.tool_calls[0].executed is False
    assert response.tool_calls[0].arguments == {"n": 50}


def test_typed_output_is_validated_and_re_asked() -> None:
    class City(BaseModel):
        name: str
        population: int

    def big(city: City) -> None:
        if city.population < 1000:
            raise ValueError("population looks too small for a city")

    engine = ScriptedEngine([" answer", '{"name": "Seoul", "population": 5}', " answer", '{"name": "Seoul", "population": 9400000}'])
    agent = Agent(engine, output_type=City, validators=[big], decision=MODEL_ONLY)
    response = agent.run_sync("Tell me about Seoul")
    assert response.is_successful, response.error_message
    assert response.output == City(name="Seoul", population=9400000)
    feedback = [m for m in agent.memory.get_conversation_history() if m.role == "observation"]
    assert feedback and "population looks too small" in feedback[0].content


def test_engine_drop_mid_run_fails_cleanly_and_keeps_the_conversation() -> None:
    down = EngineUnavailableError("engine went away")
    agent, _ = make_agent([" add", '{"a": 1, "b": 1}', down, down], retry_policy=RetryPolicy(max_attempts=2, base_delay_s=0))
    response = agent.run_sync("1 + 1?")
    assert not response.is_successful
    assert "engine went away" in (response.error_message or "")
    roles = [m.role for m in agent.memory.get_conversation_history()]
    assert roles == ["system", "user", "assistant", "tool"]  # complete messages only
    assert agent.memory.current_node_id == response.node_id


def test_a_retried_message_with_its_id_is_answered_again_not_stored_twice() -> None:
    down = EngineUnavailableError("engine went away")
    replies = [" add", '{"a": 20, "b": 3}', down, down, " add", '{"a": 20, "b": 3}', " answer", "It is 23."]
    agent, _ = make_agent(replies, retry_policy=RetryPolicy(max_attempts=2, base_delay_s=0))
    first = asyncio.run(agent.run("What is 20 + 3?", message_id="msg-one"))
    assert not first.is_successful
    again = asyncio.run(agent.run("What is 20 + 3?", message_id="msg-one"))
    assert again.is_successful and again.content == "It is 23."
    tree = agent.memory.tree
    assert tree is not None
    users = [n for n in tree.nodes() if n.message.role == "user"]
    assert [n.id for n in users] == ["msg-one"]  # stored once
    assert [m.role for m in agent.memory.get_conversation_history()] == ["system", "user", "assistant", "tool", "assistant"]
    # the first attempt's partial turn stays on a branch of its own beside the answer
    assert len(tree.get("msg-one").children) == 2

    with pytest.raises(InputError, match="holds another message"):
        asyncio.run(agent.run("What is 2 + 2?", message_id="msg-one"))


def test_bad_input_is_refused_without_touching_the_engine() -> None:
    agent, engine = make_agent([])
    assert not agent.run_sync("   ").is_successful
    oversized = agent.run_sync("x" * 30000)
    assert not oversized.is_successful and "at most 20000" in (oversized.error_message or "")
    assert engine.prompts == []


def test_max_iterations_ends_the_run() -> None:
    agent, _ = make_agent([" add", '{"a": 1, "b": 1}'] * 2)
    response = agent.run_sync("loop", max_iterations=2)
    assert not response.is_successful and "2 steps" in (response.error_message or "")


def test_fork_runs_branches_in_parallel_on_a_shared_prefix() -> None:
    def script(prompt, constraint):
        if constraint is not None and constraint.kind == "choices":
            return " answer"
        text = engine.decode(prompt)
        if "Say" not in text:
            return "Hi."
        return "Red." if text.rfind("Say red") > text.rfind("Say blue") else "Blue."

    engine = ScriptedEngine(script)
    agent = Agent(engine, decision=MODEL_ONLY)
    agent.run_sync("Hello")
    base = agent.memory.current_node_id
    responses = agent.fork_sync(["Say red", "Say blue"])
    assert sorted(r.content for r in responses) == ["Blue.", "Red."]
    heads = {r.node_id for r in responses}
    assert len(heads) == 2
    for response in responses:
        path = agent.memory.path_to_root(response.node_id)
        assert base in [n.id for n in path]
    assert agent.memory.current_node_id == base
    assert all(r.cache_hit_rate > 0.8 for r in responses)


def test_sessions_survive_a_restart(tmp_path) -> None:
    db = tmp_path / "agent.db"
    engine = ScriptedEngine([" answer", "First."])
    agent = Agent(engine, store=SQLiteStore(db), decision=MODEL_ONLY)
    agent.run_sync("One")
    session = agent.memory.session_id
    assert session is not None
    restored = RadixMemory.load(SQLiteStore(db), session)
    assert [m.content for m in restored.get_conversation_history()][1:] == ["One", "Action: answer\nAnswer: First."]
    assert restored.get_statistics().prompt_tokens > 0


def test_async_runs_share_one_agent() -> None:
    agent, _ = make_agent([" answer", "A.", " answer", "B."])

    async def both():
        return await asyncio.gather(agent.run("a"), agent.run("b"))

    first, second = asyncio.run(both())
    assert {first.content, second.content} == {"A.", "B."}


def test_a_repeated_call_is_not_run_again_and_the_next_step_answers() -> None:
    # the step after a repeat may only answer: no choice to score
    agent, engine = make_agent([" add", '{"a": 2, "b": 2}', " add", '{"a": 2, "b": 2}', "2 + 2 = 4."])
    response = agent.run_sync("2 + 2?")
    assert response.is_successful and response.content == "2 + 2 = 4."
    assert len(response.tool_calls) == 1
    assert any("repeated the call of add" in s for s in response.reasoning_steps)


def test_several_calls_in_one_step_run_together() -> None:
    from radixagent import DecisionSettings

    agent, _ = make_agent(
        [" add", '{"a": 1, "b": 2}', " add", '{"a": 3, "b": 4}', " run", " answer", "3 and 7."],
        decision=DecisionSettings(max_calls=3).model_only(),
    )
    response = agent.run_sync("1+2 and 3+4?")
    assert [c.result for c in response.tool_calls] == ["3", "7"]
    assert sum("call add" in s for s in response.reasoning_steps if s.startswith("step 1")) == 2
    assert response.content == "3 and 7."


def test_a_call_that_failed_is_written_again_under_the_tools_own_schema() -> None:
    """The request's values made the tool fail ("US" is no currency code): the next call is not
    narrowed to them again, so the model can use what the error said ("USD")."""
    agent = Agent(ScriptedEngine([]), decision=DecisionSettings())

    @agent.tool
    def exchange(amount: float, currency: str) -> str:
        """Exchange an amount into euros."""
        if currency != "USD":
            raise ValueError(f"unknown currency {currency!r}: use a three-letter code such as USD")
        return f"{amount} USD = {amount * 0.9} EUR"

    schemas: list[dict] = []

    def reply(prompt, constraint):
        if constraint is None:
            return "90 EUR."
        if hasattr(constraint, "json_schema"):
            schemas.append(constraint.json_schema["properties"]["currency"])
            return '{"amount": 100, "currency": "US"}' if len(schemas) == 1 else '{"amount": 100, "currency": "USD"}'
        return constraint.choices[0]

    agent.base_engine._function = reply  # type: ignore[attr-defined]
    response = agent.run_sync("Exchange 100 US dollars")
    assert [c.error is None for c in response.tool_calls] == [False, True]
    assert "enum" in schemas[0] and "enum" not in schemas[1]  # narrowed to the request's spans, then the tool's own


def _calls_then_answers(agent: Agent, tool: str, arguments: str, answer: str) -> None:
    """Script the agent's model: choose `tool` where it is offered, write `arguments`, then answer."""
    agent.base_engine._function = lambda prompt, constraint: (  # type: ignore[attr-defined]
        answer if constraint is None else arguments if hasattr(constraint, "json_schema") else (f" {tool}" if f" {tool}" in constraint.choices else constraint.choices[0])
    )


def test_a_call_that_failed_the_same_way_is_not_run_again() -> None:
    agent = Agent(ScriptedEngine([]), decision=MODEL_ONLY, max_iterations=5)
    runs = []

    @agent.tool
    def lookup(key: str) -> str:
        """Look a key up."""
        runs.append(key)
        raise KeyError(key)

    _calls_then_answers(agent, "lookup", '{"key": "k1"}', "Nothing was found.")
    response = agent.run_sync("Look up k1")
    assert runs == ["k1"] and response.is_successful
    assert any("repeated the call of lookup" in s for s in response.reasoning_steps)

    # the same call, though it leaves out an argument the tool's default fills in
    agent = Agent(ScriptedEngine([]), decision=MODEL_ONLY, max_iterations=5)
    runs.clear()

    @agent.tool
    def lookup_in(key: str, table: str = "main") -> str:
        """Look a key up in a table."""
        runs.append(key)
        raise KeyError(key)

    _calls_then_answers(agent, "lookup_in", '{"key": "k1"}', "Nothing was found.")
    response = agent.run_sync("Look up k1")
    assert runs == ["k1"] and response.is_successful


def test_an_answer_that_says_nothing_after_every_call_failed_gives_the_failure() -> None:
    agent = Agent(ScriptedEngine([]), decision=MODEL_ONLY, max_iterations=5)

    @agent.tool
    def find_tide(port: str) -> str:
        """Tide times of a port."""
        raise ValueError(f"no tide table for {port!r}")

    _calls_then_answers(agent, "find_tide", '{"port": "Brest"}', "1")
    response = agent.run_sync("Tide times for Brest?")
    assert response.is_successful and "no tide table for 'Brest'" in response.content and response.content.startswith("find_tide failed")
