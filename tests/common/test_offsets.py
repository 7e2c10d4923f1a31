"""Which offsets may be committed: only a contiguous prefix of fully acknowledged inputs."""

from services.common.offsets import OffsetTracker

TP = ("permits.raw", 0)


def test_a_finished_later_offset_never_commits_past_an_unfinished_earlier_one() -> None:
    tracker = OffsetTracker()
    gen = tracker.add(TP, 10)
    tracker.add(TP, 11)
    tracker.add(TP, 12)
    tracker.seal(TP, 11, gen)
    tracker.seal(TP, 12, gen)
    assert tracker.to_commit() == {}
    tracker.seal(TP, 10, gen)
    assert tracker.to_commit() == {TP: 13}


def test_an_input_is_done_only_when_every_output_is_acknowledged() -> None:
    tracker = OffsetTracker()
    gen = tracker.add(TP, 5)
    tracker.output_sent(TP, 5, gen)
    tracker.output_sent(TP, 5, gen)
    tracker.seal(TP, 5, gen)
    tracker.output_acked(TP, 5, gen)
    assert tracker.to_commit() == {}
    tracker.output_acked(TP, 5, gen)
    assert tracker.to_commit() == {TP: 6}


def test_committed_offsets_are_not_offered_again_and_revoked_partitions_are_forgotten() -> None:
    tracker = OffsetTracker()
    gen = tracker.add(TP, 0)
    tracker.seal(TP, 0, gen)
    tracker.committed(tracker.to_commit())
    assert tracker.to_commit() == {}
    tracker.add(TP, 1)
    tracker.drop([TP])
    assert tracker.output_sent(TP, 1, gen) is False
    assert tracker.unfinished == 0


def test_offsets_of_a_failed_commit_are_offered_again() -> None:
    tracker = OffsetTracker()
    gen = tracker.add(TP, 0)
    tracker.seal(TP, 0, gen)
    tracker.committed(tracker.to_commit())
    tracker.commit_failed([TP])
    assert tracker.to_commit() == {TP: 1}


def test_work_from_before_a_revocation_cannot_finish_the_new_owners_offsets() -> None:
    """Offset 7 is in flight when the partition is lost; it comes back and 7 is fetched again.
    The old copy finishing must not let the commit pass the new copy, still in flight."""
    tracker = OffsetTracker()
    old = tracker.add(TP, 7)
    tracker.drop([TP])
    new = tracker.add(TP, 7)
    assert new != old
    assert tracker.output_sent(TP, 7, old) is False
    tracker.seal(TP, 7, old)
    assert tracker.to_commit() == {}
    tracker.seal(TP, 7, new)
    assert tracker.to_commit() == {TP: 8}


def test_an_offset_fetched_again_after_it_was_done_is_not_tracked_twice() -> None:
    tracker = OffsetTracker()
    gen = tracker.add(TP, 3)
    tracker.seal(TP, 3, gen)
    tracker.add(TP, 3)
    assert tracker.unfinished == 0
    assert tracker.to_commit() == {TP: 4}
