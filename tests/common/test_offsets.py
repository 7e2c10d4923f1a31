"""Which offsets may be committed: only a contiguous prefix of fully acknowledged inputs."""

from services.common.offsets import OffsetTracker

TP = ("permits.raw", 0)


def test_a_finished_later_offset_never_commits_past_an_unfinished_earlier_one() -> None:
    tracker = OffsetTracker()
    for offset in (10, 11, 12):
        tracker.add(TP, offset)
    tracker.seal(TP, 11)
    tracker.seal(TP, 12)
    assert tracker.to_commit() == {}
    tracker.seal(TP, 10)
    assert tracker.to_commit() == {TP: 13}


def test_an_input_is_done_only_when_every_output_is_acknowledged() -> None:
    tracker = OffsetTracker()
    tracker.add(TP, 5)
    tracker.output_sent(TP, 5)
    tracker.output_sent(TP, 5)
    tracker.seal(TP, 5)
    tracker.output_acked(TP, 5)
    assert tracker.to_commit() == {}
    tracker.output_acked(TP, 5)
    assert tracker.to_commit() == {TP: 6}


def test_committed_offsets_are_not_offered_again_and_revoked_partitions_are_forgotten() -> None:
    tracker = OffsetTracker()
    tracker.add(TP, 0)
    tracker.seal(TP, 0)
    tracker.committed(tracker.to_commit())
    assert tracker.to_commit() == {}
    tracker.add(TP, 1)
    tracker.drop([TP])
    assert tracker.output_sent(TP, 1) is False
    assert tracker.unfinished == 0


def test_offsets_of_a_failed_commit_are_offered_again() -> None:
    tracker = OffsetTracker()
    tracker.add(TP, 0)
    tracker.seal(TP, 0)
    tracker.committed(tracker.to_commit())
    tracker.commit_failed([TP])
    assert tracker.to_commit() == {TP: 1}
