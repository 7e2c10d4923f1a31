"""Which input offsets are safe to commit.

An offset is done when its handler has finished and the broker has acknowledged every output
it caused. Only the contiguous prefix of done offsets of a partition is committable, so a
later offset never commits past an earlier one that is still in flight.

Each time a partition is (re)tracked after being dropped it gets a new *generation*. Work that
was in flight when the partition was revoked or lost carries the old generation and can no
longer touch the new owner's bookkeeping: a copy of offset 7 finishing late must not seal the
re-fetched offset 7 that is still being handled.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import count

TopicPartition = tuple[str, int]


@dataclass
class _Pending:
    outputs: int = 0  # produced, not yet acknowledged
    sealed: bool = False  # the handler has finished: no more outputs will come


@dataclass
class _PartitionTrack:
    generation: int
    pending: OrderedDict[int, _Pending] = field(default_factory=OrderedDict)
    committable: int | None = None  # next offset to consume, i.e. what Kafka commits
    committed: int | None = None


class OffsetTracker:
    def __init__(self) -> None:
        self._parts: dict[TopicPartition, _PartitionTrack] = {}
        self._generations = count(1)

    def add(self, tp: TopicPartition, offset: int) -> int:
        """Track a consumed offset; returns the partition's generation, which every later call
        about this offset must pass back."""
        track = self._parts.get(tp)
        if track is None:
            track = self._parts[tp] = _PartitionTrack(next(self._generations))
        already_done = track.committable is not None and offset < track.committable
        if not already_done and offset not in track.pending:
            track.pending[offset] = _Pending()
        return track.generation

    def output_sent(self, tp: TopicPartition, offset: int, generation: int) -> bool:
        """Count one produced output; False if the partition was revoked meanwhile."""
        entry = self._entry(tp, offset, generation)
        if entry is None:
            return False
        entry.outputs += 1
        return True

    def output_acked(self, tp: TopicPartition, offset: int, generation: int) -> None:
        entry = self._entry(tp, offset, generation)
        if entry is not None:
            entry.outputs -= 1
            self._advance(tp)

    def seal(self, tp: TopicPartition, offset: int, generation: int) -> None:
        entry = self._entry(tp, offset, generation)
        if entry is not None:
            entry.sealed = True
            self._advance(tp)

    def is_pending(self, tp: TopicPartition, offset: int, generation: int) -> bool:
        """Still ours and not yet done (an output waiting to be sent again needs this)."""
        return self._entry(tp, offset, generation) is not None

    def drop(self, tps: list[TopicPartition]) -> None:
        """Forget revoked partitions: their unfinished offsets belong to the next owner."""
        for tp in tps:
            self._parts.pop(tp, None)

    def to_commit(self, tps: list[TopicPartition] | None = None) -> dict[TopicPartition, int]:
        """Offsets that advanced since the last commit (mark them with ``committed``)."""
        out: dict[TopicPartition, int] = {}
        for tp, track in self._parts.items():
            if tps is not None and tp not in tps:
                continue
            if track.committable is not None and track.committable != track.committed:
                out[tp] = track.committable
        return out

    def committed(self, offsets: dict[TopicPartition, int]) -> None:
        for tp, offset in offsets.items():
            if tp in self._parts:
                self._parts[tp].committed = offset

    def commit_failed(self, tps: list[TopicPartition]) -> None:
        """A commit did not reach the broker: offer these partitions' offsets again."""
        for tp in tps:
            if tp in self._parts:
                self._parts[tp].committed = None

    @property
    def unfinished(self) -> int:
        return sum(len(t.pending) for t in self._parts.values())

    def _entry(self, tp: TopicPartition, offset: int, generation: int) -> _Pending | None:
        track = self._parts.get(tp)
        if track is None or track.generation != generation:
            return None
        return track.pending.get(offset)

    def _advance(self, tp: TopicPartition) -> None:
        track = self._parts[tp]
        pending = track.pending
        while pending:
            offset, head = next(iter(pending.items()))
            if not head.sealed or head.outputs > 0:
                break
            pending.popitem(last=False)
            track.committable = offset + 1
