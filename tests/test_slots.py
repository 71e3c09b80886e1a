"""The slot scheduler's decisions, without a model: which slot a prompt goes to, when a state
is copied, saved or restored, and that the saved states stay bounded."""

from __future__ import annotations

import random

import pytest

from radixagent.engine.prefix import common_prefix_length
from radixagent.engine.slots import SlotPlan, SlotScheduler
from radixagent.errors import ConfigurationError

SYSTEM = list(range(1000, 1100))  # a shared system prompt + tool specs, 100 tokens


def session(n: int, length: int = 40) -> list[int]:
    """A session's prompt: the shared prefix, then tokens of its own."""
    return SYSTEM + [5000 + 100 * n + i for i in range(length)]


def run(scheduler: SlotScheduler, prompt: list[int], generated: list[int] | None = None) -> SlotPlan:
    """Acquire a slot for `prompt`, act as the engine would (saves succeed), release it
    holding prompt + generated."""
    plan = scheduler.acquire(prompt)
    assert plan is not None
    if plan.save_first:
        scheduler.saved(plan.save_first, 1000)
    if plan.copy_file:
        scheduler.saved(plan.copy_file, 1000)
        scheduler.copied(plan)
    scheduler.release(plan, prompt + (generated or []))
    return plan


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([], [], 0),
        ([1, 2, 3], [], 0),
        ([1, 2, 3], [1, 2, 3], 3),
        ([1, 2, 3], [1, 2, 3, 4], 3),
        ([1, 2, 3], [9, 2, 3], 0),
        ([1, 2, 3, 4, 5], [1, 2, 3, 9, 5], 3),
        ((1, 2), [1, 2, 3], 2),
    ],
)
def test_common_prefix_length(a: list[int], b: list[int], expected: int) -> None:
    assert common_prefix_length(a, b) == expected
    assert common_prefix_length(b, a) == expected


def test_common_prefix_length_matches_a_plain_loop() -> None:
    rng = random.Random(7)
    for _ in range(300):
        base = [rng.randrange(4) for _ in range(rng.randrange(0, 60))]
        other = list(base)
        if other and rng.random() < 0.7:
            other[rng.randrange(len(other))] = 9
        other += [rng.randrange(4) for _ in range(rng.randrange(0, 5))]
        naive = 0
        for x, y in zip(base, other, strict=False):
            if x != y:
                break
            naive += 1
        assert common_prefix_length(base, other) == naive


def test_needs_a_slot() -> None:
    with pytest.raises(ConfigurationError):
        SlotScheduler(0)


def test_a_continuing_session_stays_in_its_slot() -> None:
    scheduler = SlotScheduler(3)
    first = run(scheduler, session(0), [7, 8, 9])
    assert first.source == "empty"
    turn2 = session(0) + [7, 8, 9] + [42, 43]
    plan = run(scheduler, turn2)
    assert plan.slot == first.slot
    assert plan.source == "own"
    assert plan.expected_cached == len(session(0)) + 3
    assert plan.copy_from is None and plan.restore is None and plan.save_first is None


def test_a_new_session_copies_the_shared_prefix_then_reuses_the_saved_copy() -> None:
    scheduler = SlotScheduler(3)
    a = run(scheduler, session(0))
    b = scheduler.acquire(session(1))
    assert b is not None
    assert b.slot != a.slot, "session 0's slot must not be overwritten"
    assert b.copy_from == a.slot and b.copy_file is not None
    assert b.expected_cached == len(SYSTEM)
    assert scheduler.is_busy(a.slot), "the copy source is held while it is being saved"
    scheduler.saved(b.copy_file, 1000)
    scheduler.copied(b)
    assert not scheduler.is_busy(a.slot)
    scheduler.release(b, session(1))

    # Session 0's slot has not changed since it was saved: the third session restores that
    # file instead of saving the slot again.
    c = scheduler.acquire(session(2))
    assert c is not None
    assert c.slot not in (a.slot, b.slot)
    assert c.copy_from is None
    assert c.restore == b.copy_file
    assert c.expected_cached == len(SYSTEM)


def test_busy_slots_are_never_chosen() -> None:
    scheduler = SlotScheduler(2, min_wait_gain=128)
    short = [1, 2, 3, 4]
    one = scheduler.acquire(short)
    two = scheduler.acquire(short)  # the same prompt at once: another slot, not the busy one
    assert one is not None and two is not None
    assert one.slot != two.slot
    assert two.copy_from is None, "too little to gain by waiting for the busy slot"
    assert scheduler.acquire([9]) is None
    scheduler.release(one, short)
    three = scheduler.acquire([9])
    assert three is not None and three.slot == one.slot


def test_a_long_shared_prefix_in_a_busy_slot_is_copied_once_that_slot_is_done() -> None:
    """Two sessions start at once: the second waits for the first one's request to end and
    copies its state, instead of computing the shared prefix again."""
    scheduler = SlotScheduler(3, min_wait_gain=64)
    first = scheduler.acquire(session(0))
    second = scheduler.acquire(session(1))
    assert first is not None and second is not None
    assert second.slot != first.slot
    assert second.source == "busy_slot" and second.copy_from == first.slot
    assert second.copy_file is not None
    assert second.expected_cached == len(SYSTEM)
    assert not scheduler.copy_source_ready(second), "the source's request is still running"

    scheduler.release(first, session(0) + [1, 2])
    assert scheduler.copy_source_ready(second)
    assert scheduler.is_busy(first.slot), "held for the copy: nobody may change it before it is saved"
    third = scheduler.acquire(session(0) + [1, 2, 3])
    assert third is not None and third.slot != first.slot

    scheduler.saved(second.copy_file, 1000)
    scheduler.copied(second)
    assert not scheduler.is_busy(first.slot)
    scheduler.release(second, session(1))
    scheduler.release(third, session(0) + [1, 2, 3])
    # The copied file holds all the first slot held, and is a saved state like any other.
    fourth = scheduler.acquire(session(0) + [1, 2, 3, 4])
    assert fourth is not None
    assert fourth.expected_cached == len(session(0)) + 3


def test_more_sessions_than_slots_evicts_the_least_recently_used_and_brings_it_back() -> None:
    scheduler = SlotScheduler(2)
    s0 = run(scheduler, session(0))
    s1 = run(scheduler, session(1))
    assert s1.copy_file is not None  # session 1 started from a copy of session 0's slot
    s2 = run(scheduler, session(2))  # evicts session 0, the least recently used
    assert s2.slot == s0.slot
    assert s2.save_first is None, "session 0's slot is unchanged since it was copied: not saved twice"
    evicted_file = s1.copy_file
    assert evicted_file in scheduler.saved_names()

    back = scheduler.acquire(session(0) + [1, 2, 3])  # session 0 returns
    assert back is not None
    assert back.slot == s1.slot, "session 1 is now the least recently used"
    assert back.save_first is not None, "session 1 is saved before its slot is reused"
    assert back.restore == evicted_file
    assert back.expected_cached == len(session(0))


def test_small_states_are_not_worth_saving() -> None:
    scheduler = SlotScheduler(1, min_save_tokens=32)
    run(scheduler, [1, 2, 3])
    plan = scheduler.acquire([9, 9, 9])
    assert plan is not None and plan.save_first is None


def test_a_prompt_that_drops_a_short_tail_reuses_the_slot() -> None:
    """Scoring choices: the slot holds prefix + choice A; the prefix + choice B drops only
    A's few tokens, so the same slot is used and nothing is copied."""
    scheduler = SlotScheduler(3, max_tail_loss=16)
    first = run(scheduler, session(0) + [11, 12])
    plan = run(scheduler, session(0) + [21, 22, 23])
    assert plan.slot == first.slot
    assert plan.copy_from is None and plan.restore is None


def test_a_fork_copies_instead_of_overwriting_a_long_branch() -> None:
    scheduler = SlotScheduler(3, max_tail_loss=16)
    branch_a = session(0) + list(range(7000, 7050))  # 50 tokens past the fork point
    first = run(scheduler, branch_a)
    plan = scheduler.acquire(session(0) + [8000])
    assert plan is not None
    assert plan.slot != first.slot
    assert plan.copy_from == first.slot
    assert plan.expected_cached == len(session(0))


def test_saved_states_stay_within_their_bounds() -> None:
    scheduler = SlotScheduler(1, max_saved=2)
    for n in range(4):
        run(scheduler, session(n))
    names = scheduler.saved_names()
    assert len(names) == 2
    assert scheduler.stats.saved_files == 2
    # The newest evictions are kept: sessions 1 and 2 (session 3 is in the slot).
    back = scheduler.acquire(session(2))
    assert back is not None and back.restore is not None


def test_bytes_bound_drops_oldest_first() -> None:
    scheduler = SlotScheduler(1, max_saved_bytes=2500)
    dropped: list[str] = []
    for n in range(4):
        plan = scheduler.acquire(session(n))
        assert plan is not None
        if plan.save_first:
            dropped += scheduler.saved(plan.save_first, 1000)
        dropped += scheduler.release(plan, session(n))
    assert len(scheduler.saved_names()) == 2
    assert dropped == ["slot-state-1.bin"]


def test_a_failed_save_is_forgotten() -> None:
    scheduler = SlotScheduler(2)
    a = run(scheduler, session(0))
    b = scheduler.acquire(session(1))
    assert b is not None and b.copy_file is not None
    scheduler.save_failed(b.copy_file)
    scheduler.copied(b)
    scheduler.release(b, session(1))
    assert scheduler.saved_names() == []
    c = scheduler.acquire(session(0) + [5])
    assert c is not None and c.slot == a.slot and c.restore is None


def test_unknown_content_after_an_error_is_treated_as_empty() -> None:
    scheduler = SlotScheduler(1)
    plan = scheduler.acquire(session(0))
    assert plan is not None
    scheduler.release(plan, None)
    assert scheduler.slot_tokens(0) == []
