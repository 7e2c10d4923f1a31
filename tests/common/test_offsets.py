"""Which offsets may be committed: only a contiguous prefix of fully acknowledged inputs."""

from services.common.offsets import OffsetTracker, Unit

TP = ("permits.raw", 0)


def _open(tracker: OffsetTracker, offset: int) -> Unit:
    unit = tracker.open(TP, offset)
    assert unit is not None
    return unit


def test_a_finished_later_offset_never_commits_past_an_unfinished_earlier_one() -> None:
    tracker = OffsetTracker()
    first, second, third = (_open(tracker, o) for o in (10, 11, 12))
    second.seal()
    third.seal()
    assert tracker.to_commit() == {}
    first.seal()
    assert tracker.to_commit() == {TP: 13}


def test_an_input_is_done_only_when_every_output_is_acknowledged() -> None:
    tracker = OffsetTracker()
    unit = _open(tracker, 5)
    unit.sent(2)
    unit.seal()
    unit.acked()
    assert tracker.to_commit() == {}
    unit.acked()
    assert tracker.to_commit() == {TP: 6}


def test_a_batch_unit_commits_past_its_last_offset_once_all_its_outputs_are_acknowledged() -> None:
    tracker = OffsetTracker()
    unit = _open(tracker, 20)
    for offset in range(21, 25):
        unit.extend(offset)
    assert tracker.unfinished == 5
    unit.sent(5)
    unit.seal()
    for _ in range(4):
        unit.acked()
    assert tracker.to_commit() == {}
    unit.acked()
    assert tracker.to_commit() == {TP: 25}
    assert tracker.unfinished == 0


def test_committed_offsets_are_not_offered_again_and_revoked_partitions_are_forgotten() -> None:
    tracker = OffsetTracker()
    _open(tracker, 0).seal()
    tracker.committed(tracker.to_commit())
    assert tracker.to_commit() == {}
    unit = _open(tracker, 1)
    tracker.drop([TP])
    assert not unit.live
    assert tracker.unfinished == 0


def test_offsets_of_a_failed_commit_are_offered_again() -> None:
    tracker = OffsetTracker()
    _open(tracker, 0).seal()
    tracker.committed(tracker.to_commit())
    tracker.commit_failed([TP])
    assert tracker.to_commit() == {TP: 1}


def test_work_from_before_a_revocation_cannot_finish_the_new_owners_offsets() -> None:
    """Offset 7 is in flight when the partition is lost; it comes back and 7 is fetched again.
    The old copy finishing must not let the commit pass the new copy, still in flight."""
    tracker = OffsetTracker()
    old = _open(tracker, 7)
    tracker.drop([TP])
    new = _open(tracker, 7)
    assert not old.live and new.live
    old.seal()
    assert tracker.to_commit() == {}
    new.seal()
    assert tracker.to_commit() == {TP: 8}


def test_an_offset_fetched_again_after_it_was_done_is_not_tracked_twice() -> None:
    tracker = OffsetTracker()
    _open(tracker, 3).seal()
    assert tracker.open(TP, 3) is None
    assert tracker.unfinished == 0
    assert tracker.to_commit() == {TP: 4}
