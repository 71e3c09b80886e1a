"""Tool calls that wait for a person's approval: the run pauses after the turn that decided
them and resumes, on the exact same prompt prefix, once each is approved or denied. On the
scripted engine (the Python API and the sessions routes, a restart included), plus one run
on the real model showing the resumed step reuses the engine's prefix cache."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from radixagent import ApprovalNotFoundError, ApprovalPendingError
from radixagent.agent import Agent, AgentEvent, ApprovalPolicy, ApprovalRequestEvent
from radixagent.decision import DecisionSettings
from radixagent.engine import ScriptedEngine
from radixagent.memory import SQLiteStore
from radixagent.schemas import ApprovalRequestPart, Approve, Deny, ToolCall, ToolDefinition, ToolSchema
from radixagent.server import BackgroundServer, ServerSettings, create_app

MODEL_ONLY = DecisionSettings().model_only()
ADD_THEN_ANSWER = [" add", '{"a": 2, "b": 40}', " answer", "The sum is 42."]


def make_agent(replies: list[Any], *, approve_add: bool = True, store: SQLiteStore | None = None, **options: Any) -> tuple[Agent, ScriptedEngine, list[str]]:
    """An agent with `add` (waiting for approval unless told otherwise) and `shout`; the third
    value lists the calls that really ran."""
    engine = ScriptedEngine(replies)
    options.setdefault("decision", MODEL_ONLY)
    agent = Agent(engine, store=store, **options)
    ran: list[str] = []

    @agent.tool(requires_approval=approve_add)
    def add(a: int, b: int) -> int:
        """Add two integers."""
        ran.append(f"add({a}, {b})")
        return a + b

    @agent.tool
    def shout(text: str) -> str:
        """Say a text loudly."""
        ran.append(f"shout({text})")
        return text.upper()

    return agent, engine, ran


def extends(earlier: list[int], later: list[int]) -> bool:
    return later[: len(earlier)] == earlier


# --- the Python API ----------------------------------------------------------------------------


def test_a_call_needing_approval_pauses_the_run_and_approving_it_resumes_on_the_same_prompt() -> None:
    agent, engine, ran = make_agent(list(ADD_THEN_ANSWER))
    events: list[AgentEvent] = []
    agent.observers.append(events.append)
    paused = agent.run_sync("What is 2 + 40?")
    assert paused.is_successful and paused.awaiting_approval and paused.content == "" and ran == []
    [pending] = paused.pending_approvals
    assert (pending.tool, pending.arguments, pending.decision) == ("add", {"a": 2, "b": 40}, None)
    assert [e.type for e in events] == ["step", "approval_required", "run_end"]
    assert isinstance(events[1], ApprovalRequestEvent) and events[1].approvals == [pending]
    # the deciding turn is stored as usual, saying which call waits
    head = agent.memory.get_node(paused.node_id or "")
    assert head.role == "assistant" and head.message.parts_of(ApprovalRequestPart) == [ApprovalRequestPart(call_id=pending.call_id)]
    assert agent.pending_approvals() == [pending]
    paused_prompts = len(engine.prompts)

    resumed = agent.resume_sync({pending.call_id: Approve()})
    assert resumed.is_successful and not resumed.awaiting_approval and resumed.content == "The sum is 42."
    assert ran == ["add(2, 40)"] and [c.result for c in resumed.tool_calls] == ["42"]
    assert agent.pending_approvals() == []
    assert [m.role for m in agent.memory.get_conversation_history()] == ["system", "user", "assistant", "tool", "assistant"]
    # the resumed step's prompt extends the paused turn's prompt and output byte for byte,
    # so the engine reuses all of it
    prefix = agent.memory.get_node(paused.node_id or "").prompt
    assert prefix is not None and prefix.prompt_token_ids is not None and prefix.output_token_ids is not None
    assert extends(prefix.prompt_token_ids + prefix.output_token_ids, list(engine.prompts[paused_prompts]))
    assert resumed.usage.cached_tokens > 0 and resumed.prefix_efficiency == pytest.approx(1.0)
    # and every prompt is the one a run without approval sends
    straight, straight_engine, _ = make_agent(list(ADD_THEN_ANSWER), approve_add=False)
    straight.run_sync("What is 2 + 40?")
    assert [straight_engine.decode(p) for p in straight_engine.prompts] == [engine.decode(p) for p in engine.prompts]


def test_a_denied_call_does_not_run_and_the_model_reads_why() -> None:
    agent, engine, ran = make_agent([*ADD_THEN_ANSWER[:2], " answer", "I was not allowed to add them."])
    paused = agent.run_sync("What is 2 + 40?")
    call_id = paused.pending_approvals[0].call_id
    resumed = agent.resume_sync({call_id: Deny(reason="adding is not allowed today")})
    assert ran == [] and resumed.content == "I was not allowed to add them."
    [record] = resumed.tool_calls
    assert (record.error_type, record.executed, record.result) == ("denied", False, None)
    tool_turn = agent.memory.get_conversation_history()[-2]
    assert tool_turn.role == "tool" and tool_turn.content == "add was not run: the user denied this call: adding is not allowed today"
    assert tool_turn.tool_results == [record]
    assert "the user denied this call: adding is not allowed today" in engine.decode(engine.prompts[-1])


def test_a_policy_over_the_arguments_holds_only_the_calls_it_picks() -> None:
    big = ApprovalPolicy(when=lambda call: call.tool_name == "add" and call.arguments["a"] > 100)
    agent, _, ran = make_agent([*ADD_THEN_ANSWER, " add", '{"a": 500, "b": 1}', " answer", "501."], approve_add=False, approval=big)
    assert agent.run_sync("2 + 40?").content == "The sum is 42." and ran == ["add(2, 40)"]
    paused = agent.run_sync("500 + 1?")
    assert [p.arguments for p in paused.pending_approvals] == [{"a": 500, "b": 1}] and ran == ["add(2, 40)"]
    assert agent.resume_sync({paused.pending_approvals[0].call_id: Approve()}).content == "501."
    # a plain function works as a policy too, and a tool set works as one
    by_name, _, _ = make_agent(list(ADD_THEN_ANSWER), approve_add=False, approval=lambda call: call.tool_name == "add")
    assert by_name.run_sync("2 + 40?").awaiting_approval
    assert ApprovalPolicy(tools={"shout"})(ToolCall(tool_name="shout")) and not ApprovalPolicy(tools={"shout"})(ToolCall(tool_name="add"))


def test_a_step_with_several_calls_waits_whole_and_runs_them_together() -> None:
    script = [" shout", '{"text": "hi"}', " add", '{"a": 1, "b": 2}', " run", " answer", "HI and 3."]
    agent, _, ran = make_agent(script, decision=DecisionSettings(max_calls=3).model_only())
    paused = agent.run_sync("Shout hi and add 1 and 2.")
    # only add waits; shout, of the same step, waits with it so the step's results stay one turn
    assert [p.tool for p in paused.pending_approvals] == ["add"] and ran == []
    resumed = agent.resume_sync({paused.pending_approvals[0].call_id: Approve()})
    assert ran == ["shout(hi)", "add(1, 2)"] or ran == ["add(1, 2)", "shout(hi)"]  # they run concurrently
    assert [(c.tool, c.result) for c in resumed.tool_calls] == [("shout", "HI"), ("add", "3")]
    assert resumed.content == "HI and 3."
    assert [m.role for m in agent.memory.get_conversation_history()] == ["system", "user", "assistant", "tool", "assistant"]


def test_decisions_are_checked_kept_and_changeable_until_the_run_resumes() -> None:
    script = [" add", '{"a": 1, "b": 2}', " add", '{"a": 3, "b": 4}', " run", " answer", "Only 7."]
    agent, _, ran = make_agent(script, decision=DecisionSettings(max_calls=3).model_only())
    paused = agent.run_sync("1 + 2 and 3 + 4?")
    first, second = (p.call_id for p in paused.pending_approvals)
    with pytest.raises(ApprovalPendingError, match="wait for approval") as waiting:
        agent.run_sync("Something else?")  # the paused turn's calls would go unanswered
    assert waiting.value.calls == [first, second]
    with pytest.raises(ApprovalNotFoundError):
        agent.approve("call_unknown")
    agent.approve(first)
    with pytest.raises(ApprovalPendingError) as undecided:
        agent.resume_sync()
    assert undecided.value.calls == [second]
    assert agent.approve(second).decision == "approve"
    assert [p.decision for p in agent.pending_approvals()] == ["approve", "approve"]
    agent.deny(first, "no")  # changed before the run resumed: the latest decision counts
    resumed = agent.resume_sync()
    assert ran == ["add(3, 4)"] and [c.error_type for c in resumed.tool_calls] == ["denied", None]
    with pytest.raises(ApprovalNotFoundError):
        agent.approve(first)  # resumed: nothing waits any more


def test_a_paused_run_survives_a_restart_and_resumes_on_the_stored_prompt(tmp_path: Path) -> None:
    path = tmp_path / "agent.db"
    agent, engine, _ = make_agent(list(ADD_THEN_ANSWER[:2]), store=SQLiteStore(path))
    paused = agent.run_sync("What is 2 + 40?")
    session_id = agent.memory.session_id
    agent.approve(paused.pending_approvals[0].call_id)
    agent.memory.store.close()

    restarted, restarted_engine, ran = make_agent([" answer", "The sum is 42."], store=SQLiteStore(path))
    restarted_engine._vocab = dict(engine._vocab)  # the same model: the same token ids
    restarted.open_session(session_id)
    assert [(p.call_id, p.decision) for p in restarted.pending_approvals()] == [(paused.pending_approvals[0].call_id, "approve")]
    resumed = restarted.resume_sync()
    assert resumed.content == "The sum is 42." and ran == ["add(2, 40)"]
    record = restarted.memory.get_node(paused.node_id or "").prompt
    assert record is not None and record.prompt_token_ids is not None and record.output_token_ids is not None
    assert extends(record.prompt_token_ids + record.output_token_ids, list(restarted_engine.prompts[0]))


def test_a_pause_in_a_later_step_resumes_with_the_steps_counted_and_the_earlier_results_known() -> None:
    agent, _, ran = make_agent([" shout", '{"text": "hi"}', " add", '{"a": 1, "b": 2}', " answer", "HI and 3."])
    events: list[AgentEvent] = []
    agent.observers.append(events.append)
    paused = agent.run_sync("Shout hi, then add 1 and 2.")
    assert [c.tool for c in paused.tool_calls] == ["shout"] and ran == ["shout(hi)"]
    assert [e.step for e in events if isinstance(e, ApprovalRequestEvent)] == [2]
    resumed = agent.resume_sync({paused.pending_approvals[0].call_id: Approve()})
    # the response counts the resumed part; its steps go on from the paused one
    assert [c.tool for c in resumed.tool_calls] == ["add"] and ran == ["shout(hi)", "add(1, 2)"]
    assert resumed.reasoning_steps[0].startswith("step 2: call add") and resumed.reasoning_steps[-1].startswith("step 3: answered")
    assert resumed.content == "HI and 3."


def test_a_forked_branch_that_pauses_resumes_on_its_branch() -> None:
    agent, _, ran = make_agent([" answer", "Hi.", *ADD_THEN_ANSWER])
    head = agent.run_sync("hello").node_id
    [paused] = agent.fork_sync(["What is 2 + 40?"])
    assert paused.awaiting_approval and agent.memory.current_node_id == head
    resumed = agent.resume_sync({paused.pending_approvals[0].call_id: Approve()})
    assert resumed.content == "The sum is 42." and ran == ["add(2, 40)"]
    assert agent.memory.current_node_id == head  # the branch grew; the head stayed
    assert [m.role for m in agent.memory.get_conversation_history(resumed.node_id)][-3:] == ["assistant", "tool", "assistant"]


# --- the sessions routes ------------------------------------------------------------------------

ADD_PARAMS = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}
ADDED: list[tuple[int, int]] = []


def _add(a: int, b: int) -> int:
    ADDED.append((a, b))
    return a + b


CATALOGUE = [ToolDefinition(schema=ToolSchema(name="add", description="Add two integers", parameters=ADD_PARAMS), callable=_add)]


def serve(engine: ScriptedEngine, store: SQLiteStore | None = None, **settings: Any) -> BackgroundServer:
    settings.setdefault("decision_evidence", False)
    app = create_app(ServerSettings(**settings), engine=engine, store=store or SQLiteStore(":memory:"), tools=CATALOGUE)
    return BackgroundServer(app)


@pytest.fixture(autouse=True)
def _clean_added() -> Iterator[None]:
    ADDED.clear()
    yield


def sse(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: ") and name is not None:
            events.append((name, json.loads(line[len("data: ") :])))
    return events


def test_sessions_pause_list_refuse_and_resolve_approvals() -> None:
    engine = ScriptedEngine()
    with serve(engine, server_api_keys="k1, k2") as running:
        http = httpx.Client(base_url=running.url, headers={"Authorization": "Bearer k1"})
        other = httpx.Client(base_url=running.url, headers={"Authorization": "Bearer k2"})
        bad = http.post("/v1/sessions", json={"tools": [], "approval": {"tools": ["add"]}})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "approval.tools[0]"
        created = http.post("/v1/sessions", json={"tools": ["add"], "approval": {"tools": ["add"]}, "engine_settings": {"max_calls": 3}}).json()
        sid = created["id"]
        assert created["approval"] == {"tools": ["add"]}
        engine.add_replies(" add", '{"a": 1, "b": 2}', " add", '{"a": 3, "b": 4}', " run", " answer", "3 and 7.")
        paused = http.post(f"/v1/sessions/{sid}/messages", json={"content": "1+2 and 3+4?"})
        assert paused.status_code == 200, paused.text
        result = paused.json()
        assert result["outcome"] == "awaiting_approval" and result["failure"] is None and ADDED == []
        assert result["response"]["is_successful"] and [p["arguments"] for p in result["response"]["pending_approvals"]] == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
        listed = http.get(f"/v1/sessions/{sid}/approvals").json()
        assert listed["object"] == "list" and listed["data"] == result["response"]["pending_approvals"]
        first, second = (p["call_id"] for p in listed["data"])
        # a new message would leave the calls unanswered: 409, typed
        refused = http.post(f"/v1/sessions/{sid}/messages", json={"content": "never mind"})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "approval_pending"
        assert first in refused.json()["error"]["message"]
        # another key's session does not exist for it; an unknown call is a 404 too
        assert other.get(f"/v1/sessions/{sid}/approvals").status_code == 404
        assert other.post(f"/v1/sessions/{sid}/approvals/{first}", json={"decision": "approve"}).status_code == 404
        unknown = http.post(f"/v1/sessions/{sid}/approvals/call_nope", json={"decision": "approve"})
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "approval_not_found"
        assert http.post(f"/v1/sessions/{sid}/approvals/{first}", json={"decision": "maybe"}).status_code == 400
        # the first decision: the run still waits for the second
        half = http.post(f"/v1/sessions/{sid}/approvals/{first}", json={"decision": "deny", "reason": "not that one"}).json()
        assert half["outcome"] == "awaiting_approval" and [p["decision"] for p in half["response"]["pending_approvals"]] == ["deny", None]
        # the last decision resumes the run, streamed like a message
        with http.stream("POST", f"/v1/sessions/{sid}/approvals/{second}", json={"decision": "approve", "stream": True}) as streamed:
            events = sse(streamed)
        names = [name for name, _ in events]
        assert names[:3] == ["tool_call", "tool_result", "tool_result"] and names[-1] == "final", names
        final = events[-1][1]
        assert final["outcome"] == "answered" and final["response"]["content"] == "3 and 7."
        assert ADDED == [(3, 4)] and [c["error_type"] for c in final["response"]["tool_calls"]] == ["denied", None]
        assert http.get(f"/v1/sessions/{sid}/approvals").json()["data"] == []
        roles = [n["role"] for n in http.get(f"/v1/sessions/{sid}/tree").json()["nodes"]]
        assert roles == ["system", "user", "assistant", "tool", "assistant"]


def test_a_streamed_run_that_pauses_says_so_and_a_restart_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    engine = ScriptedEngine([" add", '{"a": 2, "b": 40}'])
    with serve(engine, SQLiteStore(path)) as running:
        http = httpx.Client(base_url=running.url)
        sid = http.post("/v1/sessions", json={"tools": ["add"], "approval": {"tools": ["add"]}}).json()["id"]
        with http.stream("POST", f"/v1/sessions/{sid}/messages", json={"content": "2 + 40?", "stream": True}) as streamed:
            events = sse(streamed)
        assert [name for name, _ in events] == ["step", "approval_required", "final"]
        request, final = events[1][1], events[2][1]
        assert final["outcome"] == "awaiting_approval" and final["response"]["pending_approvals"] == request["approvals"]
        call_id = request["approvals"][0]["call_id"]
    restarted = ScriptedEngine([" answer", "It is 42."])
    restarted._vocab = dict(engine._vocab)  # the same model: the same token ids
    with serve(restarted, SQLiteStore(path)) as running:
        http = httpx.Client(base_url=running.url)
        assert [p["call_id"] for p in http.get(f"/v1/sessions/{sid}/approvals").json()["data"]] == [call_id]
        result = http.post(f"/v1/sessions/{sid}/approvals/{call_id}", json={"decision": "approve"}).json()
        assert result["outcome"] == "answered" and result["response"]["content"] == "It is 42." and ADDED == [(2, 40)]
        assert result["response"]["usage"]["cached_tokens"] > 0  # the stored prompt, token for token


# --- the real model ------------------------------------------------------------------------------


@pytest.mark.skipif(os.environ.get("RADIXAGENT_SKIP_MODEL_TESTS") == "1", reason="model tests switched off")
async def test_the_resumed_step_reuses_the_engines_prefix_cache_on_the_real_model() -> None:
    from radixagent.engine import EmbeddedEngine

    engine = EmbeddedEngine(context_size=2048, slots=1, threads=2)
    await engine.start()
    try:
        agent = Agent(engine, decision=DecisionSettings(answer_tokens=16, argument_tokens=32), max_iterations=3)

        @agent.tool(requires_approval=True)
        def get_weather(city: str) -> str:
            """Current weather in a city."""
            return f"sunny, 21 C in {city}"

        paused = await agent.run("What is the weather in Paris?")
        assert paused.awaiting_approval, paused.reasoning_steps
        resumed = await agent.resume({paused.pending_approvals[0].call_id: Approve()})
        assert [c.tool for c in resumed.tool_calls] == ["get_weather"] and resumed.tool_calls[0].result
        assert resumed.usage.prompt_tokens > 0 and resumed.usage.cached_tokens > 0
    finally:
        await engine.aclose()
