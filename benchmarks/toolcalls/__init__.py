"""The tool-call accuracy benchmark: its data (cases.jsonl, toolsets.json) and its scorer
(scoring.py), run by benchmarks/toolcall_bench.py; not part of the radixagent package."""
