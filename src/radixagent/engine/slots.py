"""Which llama.cpp slot serves a prompt, so that sessions do not evict each other's cache.

llama.cpp keeps one KV cache per slot and reuses the longest common prefix between a new
prompt and what its slot holds. Left to itself it picks a slot by a similarity score, and
sessions interleaved over a few slots keep overwriting each other (measured: 0.58 of
cacheable tokens reused). SGLang solves this with a radix tree over token ids; this module
does the same at slot granularity:

- the scheduler knows the token ids each slot holds (and each saved slot state on disk);
- a prompt goes to a free slot whose content it extends, if one exists;
- otherwise to an empty or the least recently used free slot, whose content is first saved
  to a file (so its session can come back) when it is worth keeping;
- when another slot or a saved state shares a longer prefix with the prompt (the shared
  system prompt and tool specs, a session evicted earlier, a fork's parent), that state is
  copied into the chosen slot first (llama.cpp slot save + restore: ~1.5 ms for a few hundred
  tokens against ~4 ms per token of prefill on two cores);
- when that state is in a slot still busy with a request, and it would save many tokens, the
  copy waits for that request to end (the slot is then held until it is saved): on a CPU, two
  prompts prefilled at once take as long as one after the other, so waiting costs little
  latency and saves the whole recomputation. (The wait is on this side: a save sent to
  llama.cpp for a busy slot is deferred by the server, but one that arrives before the busy
  slot's own request saves the old content; measured, it copied nothing.)

It is plain bookkeeping with no I/O: the engine carries out each `SlotPlan` and reports back.
A wrong guess costs only speed, never correctness: llama.cpp itself compares the prompt with
the slot's real content.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

from radixagent.engine.prefix import common_prefix_length
from radixagent.errors import ConfigurationError


class SlotPlan(BaseModel):
    """What to do before sending a prompt to `slot`, in this order:

    1. `save_first`: save the slot's current content under this file name (eviction);
    2. `copy_from` + `copy_file`: save that other slot under `copy_file`, then restore it
       into `slot`; or `restore`: restore that saved file into `slot`;
    3. send the request with `id_slot = slot`.

    `expected_cached` is how many prompt tokens the slot should hold after step 2."""

    model_config = ConfigDict(frozen=True)

    slot: int
    save_first: str | None = None
    copy_from: int | None = None
    copy_file: str | None = None
    restore: str | None = None
    expected_cached: int = 0
    source: Literal["empty", "own", "slot", "busy_slot", "saved"] = "empty"


class SchedulerStats(BaseModel):
    """Counters for reports and benchmarks."""

    requests: int = 0
    extended: int = 0
    copies_from_slot: int = 0
    copies_from_busy_slot: int = 0
    restores_from_saved: int = 0
    evictions_saved: int = 0
    saved_files: int = 0
    saved_bytes: int = 0


@dataclass
class _Slot:
    id: int
    tokens: list[int] = field(default_factory=list)
    busy: bool = False
    held: bool = False  # the source of a copy being saved right now
    last_used: int = 0
    saved_as: str | None = None  # a saved file holding exactly `tokens`
    incoming: list[int] = field(default_factory=list)  # the prompt being served while busy
    copy_waiters: list[str] = field(default_factory=list)  # files to save from it once it is done


@dataclass
class _Saved:
    name: str
    tokens: list[int]
    n_bytes: int = 0
    last_used: int = 0
    written: bool = False
    pins: int = 0  # plans that will restore this file


class SlotScheduler:
    """Slot bookkeeping for one llama.cpp server with `n_slots` slots.

    `min_copy_gain`: copy another state only when it saves at least this many prompt tokens.
    `max_tail_loss`: a slot counts as extended by a prompt when at most this many of its
    tokens would be dropped (re-scoring choices, a retried answer), so it is used in place.
    `min_save_tokens`: an evicted slot is saved only when it holds at least this many tokens.
    `min_wait_gain`: copy from a busy slot (waiting for its request) only when that saves at
    least this many more prompt tokens than the best idle state.
    `max_saved`, `max_saved_bytes`: bound the saved states; the least recently used go first.
    """

    def __init__(
        self,
        n_slots: int,
        *,
        max_saved: int = 32,
        max_saved_bytes: int = 2 << 30,
        min_copy_gain: int = 8,
        max_tail_loss: int = 16,
        min_save_tokens: int = 32,
        min_wait_gain: int = 128,
    ) -> None:
        if n_slots < 1:
            raise ConfigurationError(f"The embedded engine needs at least one slot, not {n_slots}.")
        self._slots = [_Slot(i) for i in range(n_slots)]
        self._saved: dict[str, _Saved] = {}
        self._clock = itertools.count(1)
        self._names = itertools.count(1)
        self.max_saved = max_saved
        self.max_saved_bytes = max_saved_bytes
        self.min_copy_gain = min_copy_gain
        self.max_tail_loss = max_tail_loss
        self.min_save_tokens = min_save_tokens
        self.min_wait_gain = min_wait_gain
        self.stats = SchedulerStats()

    # --- views (for the engine's reports and for tests) ------------------------------------

    @property
    def n_slots(self) -> int:
        return len(self._slots)

    def slot_tokens(self, slot: int) -> list[int]:
        return list(self._slots[slot].tokens)

    def is_busy(self, slot: int) -> bool:
        return self._slots[slot].busy or self._slots[slot].held

    def saved_names(self) -> list[str]:
        return [s.name for s in self._saved.values() if s.written]

    def has_free_slot(self) -> bool:
        return any(not (s.busy or s.held) for s in self._slots)

    # --- planning -------------------------------------------------------------------------

    def acquire(self, prompt: Sequence[int]) -> SlotPlan | None:
        """Choose a slot for `prompt` and mark it busy; None when every slot is busy (wait
        for a `release` and ask again)."""
        free = [s for s in self._slots if not (s.busy or s.held)]
        if not free:
            return None
        ids = list(prompt)
        own = {s.id: common_prefix_length(s.tokens, ids) for s in free}

        extending = [s for s in free if own[s.id] > 0 and len(s.tokens) - own[s.id] <= self.max_tail_loss]
        save_first: str | None = None
        if extending:
            target = max(extending, key=lambda s: (own[s.id], s.last_used))
        else:
            empty = [s for s in free if not s.tokens]
            target = empty[0] if empty else min(free, key=lambda s: s.last_used)
            if target.tokens and len(target.tokens) >= self.min_save_tokens and not self._saved_copy(target):
                save_first = self._new_saved(target.tokens).name
                target.saved_as = save_first
                self.stats.evictions_saved += 1

        # The best other state to start from: a saved file, or a free slot (which must be
        # saved first, so a file wins a tie).
        best_lcp, best_slot, best_saved = own[target.id], None, None
        for saved in self._saved.values():
            if not saved.written:
                continue
            n = common_prefix_length(saved.tokens, ids)
            if n > best_lcp:
                best_lcp, best_slot, best_saved = n, None, saved
        for s in free:
            if s is not target and own[s.id] > best_lcp:
                best_lcp, best_slot, best_saved = own[s.id], s, None

        # A busy slot whose prompt shares much more: wait for it (its save is deferred).
        busy_source: _Slot | None = None
        for s in self._slots:
            if s.busy and s.incoming:
                n = common_prefix_length(s.incoming, ids)
                if n >= best_lcp + self.min_wait_gain and n >= (
                    common_prefix_length(busy_source.incoming, ids) if busy_source else 0
                ):
                    busy_source = s

        target.busy = True
        target.incoming = ids
        target.last_used = next(self._clock)
        self.stats.requests += 1
        if busy_source is not None:
            n = common_prefix_length(busy_source.incoming, ids)
            saved = self._new_saved(busy_source.incoming)  # its prompt now; all it holds once it ends
            saved.pins += 1
            busy_source.copy_waiters.append(saved.name)
            self.stats.copies_from_busy_slot += 1
            return SlotPlan(
                slot=target.id,
                save_first=save_first,
                copy_from=busy_source.id,
                copy_file=saved.name,
                expected_cached=n,
                source="busy_slot",
            )
        if best_lcp < own[target.id] + self.min_copy_gain or (best_slot is None and best_saved is None):
            source: Literal["empty", "own"] = "own" if own[target.id] else "empty"
            if extending and own[target.id]:
                self.stats.extended += 1
            return SlotPlan(slot=target.id, save_first=save_first, expected_cached=own[target.id], source=source)

        if best_slot is not None:
            reusable = self._saved_copy(best_slot)
            if reusable is not None:
                best_saved = reusable
            else:
                best_slot.held = True
                saved = self._new_saved(best_slot.tokens)
                saved.pins += 1
                best_slot.saved_as = saved.name
                self.stats.copies_from_slot += 1
                return SlotPlan(
                    slot=target.id,
                    save_first=save_first,
                    copy_from=best_slot.id,
                    copy_file=saved.name,
                    expected_cached=best_lcp,
                    source="slot",
                )
        assert best_saved is not None
        best_saved.pins += 1
        best_saved.last_used = next(self._clock)
        self.stats.restores_from_saved += 1
        return SlotPlan(
            slot=target.id, save_first=save_first, restore=best_saved.name, expected_cached=best_lcp, source="saved"
        )

    def _saved_copy(self, slot: _Slot) -> _Saved | None:
        """The saved file holding exactly what `slot` holds, if there is one."""
        if slot.saved_as is None:
            return None
        saved = self._saved.get(slot.saved_as)
        return saved if saved is not None and saved.written and saved.tokens == slot.tokens else None

    def _new_saved(self, tokens: Sequence[int]) -> _Saved:
        name = f"slot-state-{next(self._names)}.bin"
        saved = _Saved(name=name, tokens=list(tokens), last_used=next(self._clock))
        self._saved[name] = saved
        return saved

    # --- reports from the engine ----------------------------------------------------------

    def saved(self, name: str, n_bytes: int) -> list[str]:
        """The engine wrote `name` (`n_bytes`). Returns the saved files to delete now to stay
        within the bounds (least recently used first, never one a plan still needs)."""
        saved = self._saved.get(name)
        if saved is None:
            return [name]
        saved.written = True
        saved.n_bytes = n_bytes
        return self._trim()

    def save_failed(self, name: str) -> None:
        """A save did not happen: forget the name."""
        self._saved.pop(name, None)
        for slot in self._slots:
            if slot.saved_as == name:
                slot.saved_as = None

    def copy_source_ready(self, plan: SlotPlan) -> bool:
        """Whether the copy source of `plan` may be saved now: always for an idle source, and
        for a busy one once its request has ended (the slot is held for the copy meanwhile)."""
        return plan.copy_from is None or not self._slots[plan.copy_from].busy

    def copied(self, plan: SlotPlan) -> None:
        """The copy source of `plan` has been saved (or the copy was given up); it may serve
        other requests again."""
        if plan.copy_from is None:
            return
        source = self._slots[plan.copy_from]
        if plan.source == "slot":
            source.held = False
        elif plan.source == "busy_slot" and plan.copy_file in source.copy_waiters:
            source.copy_waiters.remove(plan.copy_file)
            if not source.copy_waiters:
                source.held = False

    def release(self, plan: SlotPlan, tokens: Sequence[int] | None) -> list[str]:
        """The request on `plan.slot` ended; `tokens` is what the slot now holds (None when
        unknown, after an error). Returns saved files to delete."""
        slot = self._slots[plan.slot]
        slot.busy = False
        slot.incoming = []
        slot.tokens = list(tokens) if tokens is not None else []
        slot.saved_as = None
        if slot.copy_waiters:  # requests wait to copy this slot: keep it as it is until they have
            slot.held = True
            for name in slot.copy_waiters:
                if name in self._saved:
                    self._saved[name].tokens = list(slot.tokens)
        slot.last_used = next(self._clock)
        self.copied(plan)
        for used in (plan.copy_file, plan.restore):
            if used is not None and used in self._saved:
                self._saved[used].pins = max(0, self._saved[used].pins - 1)
        return self._trim()

    def _trim(self) -> list[str]:
        dropped: list[str] = []
        written = sorted((s for s in self._saved.values() if s.written), key=lambda s: s.last_used)
        total = sum(s.n_bytes for s in written)
        count = len(written)
        for saved in written:
            if count <= self.max_saved and total <= self.max_saved_bytes:
                break
            if saved.pins:
                continue
            del self._saved[saved.name]
            for slot in self._slots:
                if slot.saved_as == saved.name:
                    slot.saved_as = None
            dropped.append(saved.name)
            count -= 1
            total -= saved.n_bytes
        self.stats.saved_files = count
        self.stats.saved_bytes = total
        return dropped
