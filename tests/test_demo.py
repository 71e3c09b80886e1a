"""The demo, the README's first command, end to end on the embedded default model (short
answers keep it fast): every scenario runs through and each tool scenario calls its tool with
the request's values."""

from __future__ import annotations

from radixagent.demo import SCENARIOS, run_demo
from radixagent.engine.embedded import EmbeddedEngine


def test_the_demo_runs_every_scenario_through() -> None:
    engine = EmbeddedEngine(context_size=4096, slots=1, threads=2)
    try:
        report = run_demo(engine, answer_tokens=32)
    finally:
        engine.close()
    assert [s.name for s in report.scenarios] == [s.name for s in SCENARIOS]
    assert all(s.successful and s.content.strip() for s in report.scenarios), [(s.name, s.error) for s in report.scenarios]
    calls = {s.name: [(c.tool, c.arguments) for c in s.tool_calls] for s in report.scenarios}
    assert calls["sentiment"] == [("analyze_sentiment", {"text": "This product is truly excellent and the quality is outstanding."})]
    assert [tool for tool, _ in calls["search then summary"]] == ["retrieve_documents", "generate_summary"]
    # the summary's input is what the search found, not the search words
    assert calls["search then summary"][1][1]["text"] != "AI ethics"
    assert calls["translation"][0][0] == "translate_text" and calls["translation"][0][1]["text"] == "Hello World"
    assert not calls["general conversation"] and not calls["cache test 1"]
    # every run counted; the translation rated, and assessed unless the judge could not
    feedback = report.status.feedback_summary
    assert feedback.run_count == len(SCENARIOS) and feedback.total_feedback_count == 1
    translation = next(s for s in report.scenarios if s.name == "translation")
    assert feedback.quality_assessment_count == (translation.assessment is not None)
