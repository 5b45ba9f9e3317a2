"""What the gateway reads back at start, and when it must admit it cannot vouch for a replies
partition (then its replay horizon moves, and responses approved before it are refused)."""

from __future__ import annotations

from datetime import timedelta

from gateway.transport.recall_plan import PartitionReach, RecallRead, plan_recall, retention_keeps

DAY = timedelta(days=1)


def replies(start: int, end: int, window_start: int | None, **extra: bool) -> PartitionReach:
    return PartitionReach(start=start, end=end, window_start=window_start, vouches=True, **extra)


def inbox(start: int, end: int, window_start: int | None) -> PartitionReach:
    return PartitionReach(start=start, end=end, window_start=window_start, vouches=False)


def test_a_window_that_fits_is_read_whole_and_vouched_for() -> None:
    plan = plan_recall({"r": replies(0, 500, 100), "i": inbox(0, 300, 50)}, capacity=1050)

    assert plan == {
        "r": RecallRead(first=100, end=500, cannot_vouch=False),
        "i": RecallRead(first=50, end=300, cannot_vouch=False),
    }


def test_records_older_than_the_window_are_not_read_and_need_no_vouching() -> None:
    (read,) = plan_recall({"r": replies(0, 500, 500)}, capacity=10).values()

    assert read == RecallRead(first=500, end=500, cannot_vouch=False)


def test_more_than_the_memory_holds_keeps_the_newest_of_each_partition_in_proportion() -> None:
    """A reply costs up to two keys (request and response), an inbox record one."""
    plan = plan_recall({"r": replies(0, 3000, 0), "i": inbox(0, 1000, 0)}, capacity=700)

    assert plan["r"] == RecallRead(first=2700, end=3000, cannot_vouch=True)
    assert plan["i"] == RecallRead(first=900, end=1000, cannot_vouch=False)  # inbox: no release


def test_a_small_partition_keeps_at_least_its_newest_record_when_the_memory_is_short() -> None:
    plan = plan_recall({"big": replies(0, 10_000, 0), "small": replies(0, 2, 0)}, capacity=100)

    assert plan["small"] == RecallRead(first=1, end=2, cannot_vouch=True)


def test_a_broker_that_cannot_look_up_by_time_has_everything_retained_read() -> None:
    (read,) = plan_recall({"r": replies(0, 40, None)}, capacity=100).values()

    assert read == RecallRead(first=0, end=40, cannot_vouch=False)


def test_replies_deleted_from_inside_the_window_cannot_be_vouched_for() -> None:
    """The retained data starts inside the window: what retention deleted may be replayable."""
    plan = plan_recall({"r": replies(70, 90, 70), "emptied": replies(12, 12, None)}, capacity=100)

    assert plan["r"] == RecallRead(first=70, end=90, cannot_vouch=True)
    assert plan["emptied"] == RecallRead(first=12, end=12, cannot_vouch=True)


def test_deleted_replies_are_of_no_concern_when_older_than_the_window_or_retention_covers_it() -> (
    None
):
    plan = plan_recall(
        {
            "older": replies(70, 90, 80),  # a retained record before the window
            "kept": replies(70, 90, 70, retention_covers=True),
            "emptied": replies(12, 12, None, retention_covers=True),
        },
        capacity=100,
    )

    assert not any(read.cannot_vouch for read in plan.values())


def test_retention_covers_the_window_only_when_deletion_is_by_time_alone_and_long_enough() -> None:
    week = {
        "cleanup.policy": "delete",
        "retention.ms": str(7 * 86_400_000),
        "retention.bytes": "-1",
    }

    assert retention_keeps(week, DAY)
    assert retention_keeps({**week, "retention.ms": "-1"}, DAY)
    assert not retention_keeps({**week, "retention.ms": str(3_600_000)}, DAY)
    assert not retention_keeps({**week, "retention.bytes": "1073741824"}, DAY)
    assert not retention_keeps({**week, "cleanup.policy": "compact"}, DAY)
    assert not retention_keeps({"cleanup.policy": "delete"}, DAY)
    assert not retention_keeps({**week, "retention.ms": "soon"}, DAY)
