"""Which input offsets are safe to commit.

Inputs are tracked in *units*: one offset (async stages, whose messages finish in any order)
or one partition's share of a poll batch (sync stages, which finish a batch at once). A unit
is done when its handler has finished (``seal``) and the broker has acknowledged every output
it caused. Only the contiguous prefix of done units of a partition is committable, so a later
offset never commits past an earlier one that is still in flight.

Tracking per unit rather than per message is what keeps the bookkeeping of a 500-message
batch to a few objects; a delivery report only decrements its unit's count.

A partition dropped on revocation or loss takes its units with it: work that was in flight
then can no longer touch the bookkeeping of the partition's next assignment (a copy of offset
7 finishing late must not seal the re-fetched offset 7 that is still being handled).
"""

from __future__ import annotations

from collections import deque

TopicPartition = tuple[str, int]


class _Track:
    __slots__ = ("committable", "committed", "live", "owner", "units")

    def __init__(self, owner: OffsetTracker) -> None:
        self.units: deque[Unit] = deque()
        self.committable: int | None = None  # next offset to consume, i.e. what Kafka commits
        self.committed: int | None = None
        self.live = True
        self.owner = owner

    def advance(self) -> None:
        units = self.units
        while units and units[0].sealed and units[0].outputs <= 0:
            done = units.popleft()
            self.committable = done.last + 1
            self.owner.unfinished -= done.size


class Unit:
    """Inputs of one partition handled together, with the outputs they still owe."""

    __slots__ = ("_track", "last", "live", "outputs", "sealed", "size")

    def __init__(self, track: _Track, offset: int) -> None:
        self._track = track
        self.last = offset
        self.size = 1
        self.outputs = 0  # produced, not yet acknowledged
        self.sealed = False  # the handler has finished: no more outputs will come
        self.live = True  # still this member's: False once its partition was revoked or lost

    def extend(self, offset: int) -> None:
        """Take in the partition's next input (same batch)."""
        self.last = offset
        self.size += 1
        self._track.owner.unfinished += 1

    def sent(self, outputs: int = 1) -> None:
        self.outputs += outputs

    def acked(self) -> None:
        self.outputs -= 1
        if self.sealed and self.outputs <= 0:
            self._track.advance()

    def seal(self) -> None:
        self.sealed = True
        if self.outputs <= 0:
            self._track.advance()


class OffsetTracker:
    def __init__(self) -> None:
        self._parts: dict[TopicPartition, _Track] = {}
        self.unfinished = 0  # inputs taken and not yet done, over every partition

    def open(self, tp: TopicPartition, offset: int) -> Unit | None:
        """A unit starting at ``offset``; None when that offset is committable already (a
        re-fetch of finished work), which must not be handled again."""
        track = self._parts.get(tp)
        if track is None:
            track = self._parts[tp] = _Track(self)
        if track.committable is not None and offset < track.committable:
            return None
        unit = Unit(track, offset)
        track.units.append(unit)
        self.unfinished += 1
        return unit

    def drop(self, tps: list[TopicPartition]) -> None:
        """Forget revoked partitions: their unfinished offsets belong to the next owner."""
        for tp in tps:
            track = self._parts.pop(tp, None)
            if track is not None:
                track.live = False
                for unit in track.units:
                    unit.live = False
                self.unfinished -= sum(u.size for u in track.units)

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
