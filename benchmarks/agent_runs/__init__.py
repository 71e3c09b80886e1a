"""The agent-run benchmark's data and scoring (run by benchmarks/agent_runs.py): tool sets in
tools.py, labelled tasks in tasks.jsonl, labels and scores in scoring.py."""
